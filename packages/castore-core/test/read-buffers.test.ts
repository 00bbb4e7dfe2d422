import { describe, expect, it } from "vitest";
import { isInvalidArgument, ReadBuffers } from "../src/index.js";
import { thrownBy } from "./support/thrown.js";

describe("ReadBuffers", () => {
  it("hands a buffer given back to the next taker, and a new one while all are held", () => {
    const buffers = new ReadBuffers(1024);
    const first = buffers.take();
    const second = buffers.take();
    expect(first.buffer).not.toBe(second.buffer);
    expect(first.buffer.length).toBe(1024);
    first.giveBack();
    expect(buffers.take().buffer).toBe(first.buffer);
  });

  it("takes a buffer back once however often it is given back, so two takers never share it", () => {
    const buffers = new ReadBuffers(16);
    const taken = buffers.take();
    taken.giveBack();
    taken.giveBack();
    const a = buffers.take();
    const b = buffers.take();
    expect(a.buffer).toBe(taken.buffer);
    expect(b.buffer).not.toBe(taken.buffer);
  });

  it("keeps a few spare buffers, not every one ever given back", () => {
    const buffers = new ReadBuffers(8);
    const taken = Array.from({ length: 10 }, () => buffers.take());
    for (const { giveBack } of taken) giveBack();
    const again = new Set(Array.from({ length: 10 }, () => buffers.take().buffer));
    expect(taken.filter(({ buffer }) => again.has(buffer)).length).toBe(4);
  });

  it("refuses a size that is not a positive integer", () => {
    for (const size of [0, -1, 1.5, Number.NaN]) {
      expect(isInvalidArgument(thrownBy(() => new ReadBuffers(size)))).toBe(true);
    }
  });
});
