import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChunkSplitter, FastCdcChunker, type SplitChunk } from "../src/backend.js";
import { blake3, digestOf } from "../src/index.js";
import { xorshiftBytes } from "./support/xorshift.js";

const SIZES = { minSize: 64, avgSize: 256, maxSize: 1024 };

describe("ChunkSplitter", () => {
  it("hands out the chunker's chunks with their bytes and digests, for any split (property)", async () => {
    const implementation = await blake3();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 20_000 }),
        fc.integer({ min: 1, max: 1 << 30 }),
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        async (length, seed, pieceSizes, nodeBuffer) => {
          const data = xorshiftBytes(length, seed);
          const whole = new FastCdcChunker(SIZES);
          const cuts = [...whole.update(data), ...whole.finish()].map((cut) => cut.end);
          const splitter = new ChunkSplitter(SIZES, implementation);
          const chunks: SplitChunk[] = [];
          // Feed through one reused buffer: the splitter must copy what it keeps. A Node Buffer too,
          // whose slice() is a view, not a copy.
          const buffer = nodeBuffer ? Buffer.alloc(3000) : new Uint8Array(3000);
          for (let offset = 0, i = 0; offset < data.length; i++) {
            const size = Math.min(pieceSizes[i % pieceSizes.length] as number, data.length - offset);
            buffer.set(data.subarray(offset, offset + size));
            chunks.push(...splitter.push(buffer.subarray(0, size)));
            buffer.fill(0xaa);
            offset += size;
          }
          chunks.push(...splitter.finish());
          let end = 0;
          expect(chunks.map((chunk) => (end += chunk.size))).toEqual(cuts);
          let start = 0;
          for (const chunk of chunks) {
            const bytes = Buffer.concat(chunk.segments);
            expect(bytes.equals(Buffer.from(data.subarray(start, start + chunk.size)))).toBe(true);
            expect(chunk.digest.equals(await digestOf(bytes))).toBe(true);
            start += chunk.size;
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it("borrowing: the same chunks, valid while their piece is, views of it where they lie in it (property)", async () => {
    const implementation = await blake3();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 20_000 }),
        fc.integer({ min: 1, max: 1 << 30 }),
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 6 }),
        async (length, seed, pieceSizes) => {
          const data = xorshiftBytes(length, seed);
          const whole = new FastCdcChunker(SIZES);
          const cuts = [...whole.update(data), ...whole.finish()].map((cut) => cut.end);
          const splitter = new ChunkSplitter(SIZES, implementation, { borrow: true });
          const buffer = new Uint8Array(3000);
          const ends: number[] = [];
          let start = 0;
          // Each chunk is checked as it comes out, before the piece it borrows from is overwritten.
          const check = async (chunks: SplitChunk[]) => {
            for (const chunk of chunks) {
              const bytes = Buffer.concat(chunk.segments);
              expect(bytes.equals(Buffer.from(data.subarray(start, start + chunk.size)))).toBe(true);
              expect(chunk.digest.equals(await digestOf(bytes))).toBe(true);
              start += chunk.size;
              ends.push(start);
            }
          };
          for (let offset = 0, i = 0; offset < data.length; i++) {
            const size = Math.min(pieceSizes[i % pieceSizes.length] as number, data.length - offset);
            buffer.set(data.subarray(offset, offset + size));
            const chunks = splitter.push(buffer.subarray(0, size));
            await check(chunks);
            buffer.fill(0xaa);
            offset += size;
          }
          await check(splitter.finish());
          expect(ends).toEqual(cuts);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("borrowing: chunks inside the piece pushed are views of it, not copies", async () => {
    const piece = xorshiftBytes(20_000, 7);
    const chunks = new ChunkSplitter(SIZES, await blake3(), { borrow: true }).push(piece);
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) expect(chunk.segments.map((segment) => segment.buffer)).toEqual([piece.buffer]);
  });

  it("gives nothing for empty input", async () => {
    const splitter = new ChunkSplitter(SIZES, await blake3());
    expect(splitter.push(new Uint8Array(0))).toEqual([]);
    expect(splitter.finish()).toEqual([]);
  });
});
