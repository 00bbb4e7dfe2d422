import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chunkSizesFor, DEFAULT_AVG_CHUNK_SIZE, FastCdcChunker, type FastCdcOptions } from "../src/backend.js";
import { digestOf, isClosed, isInvalidArgument } from "../src/index.js";
import { referenceChunks } from "./fastcdc-reference.js";
import { thrownBy } from "./support/thrown.js";
import { xorshiftBytes } from "./support/xorshift.js";

interface VectorChunk {
  offset: number;
  length: number;
  hash?: string;
  b3: string;
}
interface Vectors {
  cases: { min: number; avg: number; max: number; normalization: 0 | 1 | 2 | 3; chunks: VectorChunk[] }[];
  generated: {
    input_b3: string;
    min: number;
    avg: number;
    max: number;
    normalization: 0 | 1 | 2 | 3;
    chunks: VectorChunk[];
  };
}

const fixture = (name: string) => new URL(`./fixtures/fastcdc/${name}`, import.meta.url);
const vectors = JSON.parse(readFileSync(fixture("vectors.json"), "utf8")) as Vectors;
const image = new Uint8Array(readFileSync(fixture("SekienAkashita.jpg")));
const LOW48 = (1n << 48n) - 1n;
const IMPLEMENTATIONS = ["wasm", "js"] as const;

/** Runs the chunker over `input` fed in pieces of the given sizes (cycled), returning [offset, length, hash48]. */
function chunkAll(input: Uint8Array, options: FastCdcOptions, pieceSizes: number[] = [input.length]) {
  const chunker = new FastCdcChunker(options);
  const cuts = [];
  let offset = 0;
  for (let i = 0; offset < input.length; i++) {
    const size = Math.max(1, pieceSizes[i % pieceSizes.length] as number);
    cuts.push(...chunker.update(input.subarray(offset, offset + size)));
    offset += size;
  }
  cuts.push(...chunker.finish());
  let start = 0;
  return cuts.map((cut) => {
    const chunk = { offset: start, length: cut.end - start, hash48: cut.hash48 };
    start = cut.end;
    return chunk;
  });
}

describe("the reference port", () => {
  it("reproduces every vector of fastcdc-rs 3.1.0, u64 hashes included", () => {
    for (const vector of vectors.cases) {
      const chunks = referenceChunks(image, vector.min, vector.avg, vector.max, vector.normalization);
      expect(chunks.map((c) => [c.offset, c.length, c.hash.toString()])).toEqual(
        vector.chunks.map((c) => [c.offset, c.length, c.hash]),
      );
    }
  });
});

describe.each(IMPLEMENTATIONS)("FastCdcChunker (%s gear hash)", (implementation) => {
  it("uses the implementation asked for", () => {
    expect(new FastCdcChunker({ ...chunkSizesFor(), implementation }).implementation).toBe(implementation);
  });

  it("cuts the crate's test image where fastcdc-rs 3.1.0 does, with its hashes and chunk digests", async () => {
    for (const vector of vectors.cases) {
      const options = { minSize: vector.min, avgSize: vector.avg, maxSize: vector.max, implementation };
      const chunks = chunkAll(image, { ...options, normalization: vector.normalization });
      expect(chunks.map((c) => [c.offset, c.length])).toEqual(vector.chunks.map((c) => [c.offset, c.length]));
      // Bits 0..47 of the crate's u64 hash: every bit a mask tests.
      expect(chunks.map((c) => c.hash48)).toEqual(vector.chunks.map((c) => Number(BigInt(c.hash as string) & LOW48)));
      for (const chunk of vector.chunks) {
        const digest = await digestOf(image.subarray(chunk.offset, chunk.offset + chunk.length));
        expect(digest.toHex()).toBe(chunk.b3);
      }
    }
  });

  it("cuts the generated 8 MiB input at snix's sizes as the crate does, in any piece size", async () => {
    const generated = vectors.generated;
    const input = xorshiftBytes(8 * 1024 * 1024);
    expect((await digestOf(input)).toHex()).toBe(generated.input_b3);
    const options = { ...chunkSizesFor(generated.avg), normalization: generated.normalization, implementation };
    expect([options.minSize, options.maxSize]).toEqual([generated.min, generated.max]);
    const expected = generated.chunks.map((c) => [c.offset, c.length]);
    for (const pieces of [[input.length], [1 << 16], [1, 2, 3, 65_537, 999_999], [524_288]]) {
      expect(chunkAll(input, options, pieces).map((c) => [c.offset, c.length])).toEqual(expected);
    }
    for (const chunk of generated.chunks.slice(0, 3)) {
      const digest = await digestOf(input.subarray(chunk.offset, chunk.offset + chunk.length));
      expect(digest.toHex()).toBe(chunk.b3);
    }
  });

  it("matches the reference on random sizes, levels, data and splits; chunks stay within bounds", () => {
    const sizes = fc
      .record({
        minSize: fc.integer({ min: 64, max: 2048 }),
        avgExtra: fc.integer({ min: 0, max: 4096 }),
        maxExtra: fc.integer({ min: 0, max: 8192 }),
        normalization: fc.constantFrom(0 as const, 1 as const, 2 as const, 3 as const),
      })
      .map(({ minSize, avgExtra, maxExtra, normalization }) => {
        const avgSize = Math.max(256, minSize + avgExtra);
        const maxSize = Math.max(1024, avgSize + maxExtra);
        return { minSize, avgSize, maxSize, normalization, implementation };
      });
    const data = fc
      .record({
        length: fc.integer({ min: 0, max: 40_000 }),
        seed: fc.integer({ min: 1, max: 0x7fffffff }),
        // Random bytes find cuts; runs of one byte never do (every chunk is then maxSize).
        kind: fc.constantFrom("random", "random", "zeros", "periodic"),
      })
      .map(({ length, seed, kind }) => {
        if (kind === "zeros") return new Uint8Array(length);
        const random = xorshiftBytes(length, seed);
        return kind === "periodic" ? random.map((_, i) => random[i % 97] as number) : random;
      });
    const pieces = fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(sizes, data, pieces, (options, input, pieceSizes) => {
        const expected = referenceChunks(
          input,
          options.minSize,
          options.avgSize,
          options.maxSize,
          options.normalization,
        );
        const whole = chunkAll(input, options);
        const split = chunkAll(input, options, pieceSizes);
        expect(whole.map((c) => [c.offset, c.length])).toEqual(expected.map((c) => [c.offset, c.length]));
        expect(whole.map((c) => c.hash48)).toEqual(expected.map((c) => Number(c.hash & LOW48)));
        expect(split).toEqual(whole);
        const lowest = options.minSize - (options.minSize % 2);
        for (const [index, chunk] of whole.entries()) {
          expect(chunk.length).toBeLessThanOrEqual(options.maxSize);
          if (index < whole.length - 1) expect(chunk.length).toBeGreaterThanOrEqual(lowest);
          else expect(chunk.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("feeds byte by byte across odd and even boundaries like one piece", () => {
    const input = xorshiftBytes(20_000, 99);
    const options = { minSize: 65, avgSize: 256, maxSize: 1025, normalization: 2 as const, implementation };
    expect(chunkAll(input, options, [1])).toEqual(chunkAll(input, options));
  });
});

describe("FastCdcChunker options and lifecycle", () => {
  it("defaults to snix's sizes", () => {
    expect(DEFAULT_AVG_CHUNK_SIZE).toBe(262144);
    expect(chunkSizesFor()).toEqual({ minSize: 131072, avgSize: 262144, maxSize: 524288 });
    expect(new FastCdcChunker(chunkSizesFor()).normalization).toBe(1);
  });

  it("refuses sizes outside the crate's bounds or out of order with InvalidArgument", () => {
    const good = { minSize: 4096, avgSize: 16384, maxSize: 65536 };
    const bad: unknown[] = [
      { ...good, minSize: 63 },
      { ...good, minSize: 1_048_577 },
      { ...good, avgSize: 255 },
      { ...good, avgSize: 4_194_305 },
      { ...good, maxSize: 1023 },
      { ...good, maxSize: 16_777_217 },
      { ...good, minSize: 20_000 },
      { ...good, maxSize: 8192 },
      { ...good, minSize: 4096.5 },
      { ...good, avgSize: "16384" },
      { ...good, normalization: 4 },
      { ...good, implementation: "asm" },
    ];
    for (const options of bad) {
      expect(() => new FastCdcChunker(options as FastCdcOptions)).toThrow(
        expect.objectContaining({ code: "InvalidArgument" }),
      );
    }
    for (const avg of [100, 511, 2_097_153]) {
      expect(() => chunkSizesFor(avg)).toThrow(expect.objectContaining({ code: "InvalidArgument" }));
    }
    expect(chunkSizesFor(512)).toEqual({ minSize: 256, avgSize: 512, maxSize: 1024 });
    expect(chunkSizesFor(2_097_152).maxSize).toBe(4_194_304);
    expect(isInvalidArgument(thrownBy(() => chunkSizesFor(Number.NaN)))).toBe(true);
  });

  it("gives nothing for empty input and refuses input after finish", () => {
    const chunker = new FastCdcChunker(chunkSizesFor());
    expect(chunker.update(new Uint8Array(0))).toEqual([]);
    expect(chunker.finish()).toEqual([]);
    expect(isClosed(thrownBy(() => chunker.update(new Uint8Array(1))))).toBe(true);
    expect(isClosed(thrownBy(() => chunker.finish()))).toBe(true);
  });

  it("counts the bytes it was fed, including a byte it holds back", () => {
    const chunker = new FastCdcChunker({ minSize: 64, avgSize: 256, maxSize: 1024 });
    chunker.update(new Uint8Array(65));
    expect(chunker.bytesSeen).toBe(65);
  });
});
