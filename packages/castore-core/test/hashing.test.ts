import { describe, expect, it } from "vitest";
import type { Blake3Implementation } from "../src/hashing/blake3.js";
import { loadNativeBlake3, loadNodeWasmBlake3 } from "../src/hashing/hasher-node.js";
import { blake3 } from "../src/index.js";

// Expected digests computed with Debian's b3sum 1.2.0, e.g. `printf 'Hello World!' | b3sum`;
// the generated inputs were written to files by the same formulas and hashed with b3sum.
const vectors: { name: string; make: () => Uint8Array; hex: string }[] = [
  {
    name: "empty",
    make: () => new Uint8Array(0),
    hex: "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
  },
  {
    name: "Hello World!",
    make: () => new TextEncoder().encode("Hello World!"),
    hex: "5ca7815adcb484e9a136c11efe69c1d530176d549b5d18d038eb5280b4b3470c",
  },
  {
    name: "the 2-byte blob 00 01",
    make: () => Uint8Array.of(0, 1),
    hex: "7b7015bb92cf0b318037702a6cdd81dee41224f734684c2c122cd6359cb1ee63",
  },
  {
    name: "bytes 0..254 repeated 4096 times (1,044,480 bytes)",
    make: () => {
      const out = new Uint8Array(255 * 4096);
      for (let i = 0; i < out.length; i++) out[i] = i % 255;
      return out;
    },
    hex: "a82c5154a7a0c262c6fdb929a317585646f8fbcf80326d0a7b8747edaf2d99d2",
  },
  {
    name: "10 MiB, byte i = (7i + (i >> 13)) mod 256",
    make: () => {
      const out = new Uint8Array(10 * 1024 * 1024);
      for (let i = 0; i < out.length; i++) out[i] = (i * 7 + (i >> 13)) & 0xff;
      return out;
    },
    hex: "cced03bc63f55a6aee0162b8d3f1471a34be7e1f6fdf9560c6784e9b8abe40ad",
  },
];

const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** Feeds `data` in pieces of sizes cycling through `sizes`. */
function hashInPieces(impl: Blake3Implementation, data: Uint8Array, sizes: number[]): string {
  const hasher = impl.createHasher();
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const size = sizes[i % sizes.length] as number;
    hasher.update(data.subarray(offset, offset + size));
    offset += size;
  }
  return toHex(hasher.digest());
}

const native = loadNativeBlake3();
const implementations: [string, () => Promise<Blake3Implementation>][] = [
  ["native (@napi-rs/blake-hash)", async () => native as Blake3Implementation],
  ["wasm (blake3-wasm)", loadNodeWasmBlake3],
];

describe.each(implementations)("BLAKE3 %s", (label, load) => {
  it.skipIf(label.startsWith("native") && native === undefined)("is available", async () => {
    expect((await load()).name).toBe(label.startsWith("native") ? "native" : "wasm");
  });

  for (const vector of vectors) {
    it(`hashes ${vector.name} in one piece and in odd-sized pieces`, async () => {
      const impl = await load();
      const data = vector.make();
      expect(hashInPieces(impl, data, [data.length || 1])).toBe(vector.hex);
      expect(hashInPieces(impl, data, [1, 7, 1023, 1025, 65_537, 3])).toBe(vector.hex);
    });
  }
});

describe.each(implementations)("BLAKE3 %s digestSoFar", (label, load) => {
  it.skipIf(label.startsWith("native") && native === undefined)(
    "is the digest of each prefix, and hashing goes on unchanged after it",
    async () => {
      const impl = await load();
      const data = vectors[4]?.make() as Uint8Array;
      const running = impl.createHasher();
      let offset = 0;
      for (const end of [0, 1, 1024, 1025, 65_536, 1 << 20, 3_000_001, data.length]) {
        running.update(data.subarray(offset, end));
        offset = end;
        expect(toHex(running.digestSoFar()), `prefix of ${end} bytes`).toBe(
          hashInPieces(impl, data.subarray(0, end), [end || 1]),
        );
      }
      expect(toHex(running.digest())).toBe(vectors[4]?.hex);
    },
  );
});

describe("the hashing seam", () => {
  it("picks the native binding on Node when it loads", async () => {
    expect((await blake3()).name).toBe(native ? "native" : "wasm");
  });
});
