import { digestOf } from "castore-core";
import { describe, expect, it } from "vitest";
import { BLOB_A, BLOB_B, BLOB_C, DUMMY_DIGEST, EMPTY, FIXTURES, HELLOWORLD, pseudoRandomBytes } from "../src/index.js";

describe("fixture blobs", () => {
  it("have the documented contents", () => {
    expect(EMPTY.data.length).toBe(0);
    expect(new TextDecoder().decode(HELLOWORLD.data)).toBe("Hello World!");
    expect([...BLOB_A.data]).toEqual([0, 1]);
    expect(BLOB_B.data.length).toBe(1_044_480);
    for (let i = 0; i < BLOB_B.data.length; i += 997) expect(BLOB_B.data[i]).toBe(i % 255);
    expect(BLOB_B.data.at(-1)).toBe(254);
    expect(BLOB_C.data.length).toBe(5 * 1024 * 1024 + 3);
    expect([...DUMMY_DIGEST.bytes]).toEqual(new Array(32).fill(0));
  });

  // The constants were verified with b3sum; this is the second, independent check.
  it.each(FIXTURES)("$name hashes to its literal digest", async (fixture) => {
    expect((await digestOf(fixture.data)).toHex()).toBe(fixture.digest.toHex());
  });

  it("BLOB_C is incompressible-looking: every byte value occurs about equally often", () => {
    const counts = new Array(256).fill(0);
    for (const byte of BLOB_C.data) counts[byte]++;
    const expected = BLOB_C.data.length / 256;
    for (const count of counts) expect(Math.abs(count - expected) / expected).toBeLessThan(0.05);
  });

  it("pseudoRandomBytes is deterministic and seed-dependent, and any length is a prefix of a longer one", () => {
    expect(pseudoRandomBytes(1000, 7)).toEqual(pseudoRandomBytes(1000, 7));
    expect(pseudoRandomBytes(1000, 7)).not.toEqual(pseudoRandomBytes(1000, 8));
    expect(pseudoRandomBytes(13, 7)).toEqual(pseudoRandomBytes(16, 7).subarray(0, 13));
  });
});
