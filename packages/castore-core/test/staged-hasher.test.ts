import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { B3Digest } from "../src/digest.js";
import type { Blake3Hasher, Blake3Implementation } from "../src/hashing/blake3.js";
import { loadNodeWasmBlake3 } from "../src/hashing/hasher-node.js";
import { STAGE_BYTES, stagedHasher } from "../src/hashing/staged-hasher.js";

// A digest in hex, through the digest type castore already has.
const toHex = (digest: Uint8Array) => B3Digest.fromBytes(digest).toHex();

/** Bytes that differ from one 64 KiB stage to the next, so a misplaced piece changes the digest. */
function sample(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + (i >> 11)) & 0xff;
  return out;
}

// The oracle is the WebAssembly implementation, unstaged: independent of the native binding.
const wasm: Blake3Implementation = await loadNodeWasmBlake3();
const digestOf = (bytes: Uint8Array) => {
  const hasher = wasm.createHasher();
  hasher.update(bytes);
  return toHex(hasher.digest());
};

/** A hasher that records where each update it receives starts and how long it is. */
function recording(): { hasher: Blake3Hasher; updates: { start: number; length: number }[] } {
  const inner = wasm.createHasher();
  const updates: { start: number; length: number }[] = [];
  let total = 0;
  const hasher: Blake3Hasher = {
    update(data) {
      updates.push({ start: total, length: data.length });
      total += data.length;
      inner.update(data);
    },
    digest: () => inner.digest(),
    digestSoFar: () => inner.digestSoFar(),
    dispose: () => inner.dispose(),
  };
  return { hasher, updates };
}

describe("stagedHasher", () => {
  const data = sample(3 * STAGE_BYTES + 12_345);

  it("gives the same digests as its inner hasher, however the bytes are cut and whenever a digest is taken", () => {
    const cut = fc.record({ size: fc.nat({ max: 2 * STAGE_BYTES + 10 }), peek: fc.boolean() });
    fc.assert(
      fc.property(fc.array(cut, { maxLength: 40 }), (cuts) => {
        const hasher = stagedHasher(wasm.createHasher());
        let offset = 0;
        for (const { size, peek } of cuts) {
          const end = Math.min(offset + size, data.length);
          hasher.update(data.subarray(offset, end));
          offset = end;
          if (peek) expect(toHex(hasher.digestSoFar())).toBe(digestOf(data.subarray(0, offset)));
        }
        hasher.update(data.subarray(offset));
        expect(toHex(hasher.digest())).toBe(digestOf(data));
      }),
      { numRuns: 150 },
    );
  });

  it("feeds its inner hasher only whole stages at stage boundaries, until a digest is asked for", () => {
    const { hasher, updates } = recording();
    const staged = stagedHasher(hasher);
    // Pieces as a gRPC stream delivers them: 16 KiB frames less a 5-byte message header.
    let offset = 0;
    while (offset < data.length) {
      const end = Math.min(offset + 16_379, data.length);
      staged.update(data.subarray(offset, end));
      offset = end;
    }
    const beforeDigest = updates.length;
    expect(toHex(staged.digest())).toBe(digestOf(data));
    expect(beforeDigest).toBe(3);
    for (const update of updates.slice(0, beforeDigest)) {
      expect(update.start % STAGE_BYTES).toBe(0);
      expect(update.length % STAGE_BYTES).toBe(0);
    }
    // The last update is the flush of the staged tail.
    expect(updates.at(-1)).toEqual({ start: 3 * STAGE_BYTES, length: 12_345 });
  });

  it("passes the aligned middle of a large piece through in one update", () => {
    const { hasher, updates } = recording();
    const staged = stagedHasher(hasher);
    staged.update(data.subarray(0, 100));
    staged.update(data.subarray(100));
    expect(toHex(staged.digest())).toBe(digestOf(data));
    expect(updates).toEqual([
      { start: 0, length: STAGE_BYTES },
      { start: STAGE_BYTES, length: 2 * STAGE_BYTES },
      { start: 3 * STAGE_BYTES, length: 12_345 },
    ]);
  });

  it("copies what it keeps: the caller may reuse its buffer once update returns", () => {
    const buffer = new Uint8Array(1000);
    const staged = stagedHasher(wasm.createHasher());
    for (let offset = 0; offset < data.length; offset += buffer.length) {
      const piece = data.subarray(offset, offset + buffer.length);
      buffer.set(piece);
      staged.update(buffer.subarray(0, piece.length));
      buffer.fill(0xee);
    }
    expect(toHex(staged.digest())).toBe(digestOf(data));
  });

  it("keeps hashers apart when stage buffers are reused between them", () => {
    const first = stagedHasher(wasm.createHasher());
    first.update(data.subarray(0, 777));
    expect(toHex(first.digest())).toBe(digestOf(data.subarray(0, 777)));
    const disposed = stagedHasher(wasm.createHasher());
    disposed.update(data.subarray(0, 5));
    disposed.dispose();
    // Both take stages given back above, and are fed turn about.
    const a = stagedHasher(wasm.createHasher());
    const b = stagedHasher(wasm.createHasher());
    const other = sample(data.length).map((byte) => byte ^ 0x5a);
    for (let offset = 0; offset < data.length; offset += 9_999) {
      a.update(data.subarray(offset, offset + 9_999));
      b.update(other.subarray(offset, offset + 9_999));
    }
    expect(toHex(a.digest())).toBe(digestOf(data));
    expect(toHex(b.digest())).toBe(digestOf(other));
  });
});
