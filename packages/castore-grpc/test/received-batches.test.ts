// ReceivedBatches against real node streams: every chunk in order, backpressure at the high-water
// mark, and the end, errors and early stops as a stream's own async iterator reports them.
import { once } from "node:events";
import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ReceivedBatches } from "../src/wire/received-batches.js";

const bytes = (length: number, fill: number) => new Uint8Array(length).fill(fill);
/** Batches as plain arrays (a PassThrough hands out Buffers). */
const plain = (batch: Uint8Array[] | undefined) => batch?.map((chunk) => [...chunk]);

describe("ReceivedBatches", () => {
  it("hands over every chunk, in order, in batches, then ends", async () => {
    const chunks = Array.from({ length: 50 }, (_, i) => bytes(100 + i, i));
    const received: Uint8Array[] = [];
    let batches = 0;
    for await (const batch of new ReceivedBatches(Readable.from(chunks, { objectMode: false }), 1 << 20)) {
      expect(batch.length).toBeGreaterThan(0);
      batches++;
      received.push(...batch);
    }
    expect(received.map((chunk) => [...chunk])).toEqual(chunks.map((chunk) => [...chunk]));
    expect(batches).toBeLessThanOrEqual(chunks.length);
  });

  it("pauses the stream once the high-water mark waits unread, and resumes when the consumer takes it", async () => {
    const stream = new PassThrough();
    const batches = new ReceivedBatches(stream, 1000);
    const paused = once(stream, "pause");
    stream.write(bytes(600, 1));
    stream.write(bytes(600, 2));
    await paused;
    expect(stream.isPaused()).toBe(true);
    const first = await batches.next();
    expect(first.done).toBe(false);
    expect((first.value as Uint8Array[]).reduce((sum, chunk) => sum + chunk.length, 0)).toBe(1200);
    expect(stream.isPaused()).toBe(false);
    stream.end(bytes(10, 3));
    const second = await batches.next();
    expect(plain(second.value)).toEqual([[...bytes(10, 3)]]);
    expect((await batches.next()).done).toBe(true);
  });

  it("throws the stream's error", async () => {
    const stream = new PassThrough();
    const batches = new ReceivedBatches(stream, 1 << 20);
    stream.write(bytes(10, 1));
    expect(plain((await batches.next()).value)).toEqual([[...bytes(10, 1)]]);
    stream.destroy(new Error("socket gone"));
    await expect(batches.next()).rejects.toThrow("socket gone");
  });

  it("takes a close before the end for a failure, not for the end", async () => {
    const stream = new PassThrough();
    const batches = new ReceivedBatches(stream, 1 << 20);
    stream.destroy();
    await expect(batches.next()).rejects.toMatchObject({ code: "ERR_STREAM_PREMATURE_CLOSE" });
  });

  it("destroys the stream when the consumer stops early", async () => {
    const stream = new PassThrough();
    const batches = new ReceivedBatches(stream, 1 << 20);
    stream.write(bytes(10, 1));
    for await (const _ of batches) break;
    expect(stream.destroyed).toBe(true);
  });
});
