import { type B3Digest, type BlobService, type ChunkMeta, isCastoreError } from "castore-core";
import { concatBytes } from "castore-core/backend";
import { ConformanceFailure, check, checkBytes, checkEqual } from "../assertions.js";
import { type ConformanceCase, requires, requiresAll } from "../capabilities.js";
import { BLOB_C, DUMMY_DIGEST, HELLOWORLD } from "../fixtures.js";
import { openPresent, put, readBlob, readExact } from "../io.js";
import { pseudoRandomBytes } from "../prng.js";

/** The chunk list of a stored blob, checked for the shape every backend must give. */
async function chunkList(service: BlobService, digest: B3Digest, size: number, name: string): Promise<ChunkMeta[]> {
  const chunks = await service.chunks(digest);
  check(Array.isArray(chunks), `chunks(${name}) returned ${String(chunks)} for a stored blob; expected an array`);
  if (chunks.length === 0) return chunks;
  check(chunks.length >= 2, `chunks(${name}) listed a single chunk; a one-piece blob has an empty list`);
  let total = 0;
  for (const [index, chunk] of chunks.entries()) {
    check(
      chunk.digest.bytes.length === 32,
      `chunk ${index} of ${name} has a digest of ${chunk.digest.bytes.length} bytes`,
    );
    check(Number.isSafeInteger(chunk.size) && chunk.size > 0, `chunk ${index} of ${name} has size ${chunk.size}`);
    total += chunk.size;
  }
  checkEqual(total, size, `the sum of ${name}'s chunk sizes`);
  return chunks;
}

/** Offsets in the blob where each chunk starts (plus the blob's size at the end). */
function boundaries(chunks: readonly ChunkMeta[]): number[] {
  const starts = [0];
  for (const chunk of chunks) starts.push((starts[starts.length - 1] as number) + chunk.size);
  return starts;
}

/** BLOB_C as a chunked blob: stored, with its list of at least two chunks. */
async function chunkedBlobC(service: BlobService): Promise<ChunkMeta[]> {
  await put(service, BLOB_C.data);
  const chunks = await chunkList(service, BLOB_C.digest, BLOB_C.data.length, "BLOB_C");
  check(chunks.length >= 2, "a backend declaring chunks gave BLOB_C (5 MiB) an empty chunk list");
  return chunks;
}

/** Reads [offset, offset + length) of BLOB_C through a fresh reader: the bytes, or "integrity". */
async function readRange(service: BlobService, offset: number, length: number): Promise<Uint8Array | "integrity"> {
  const reader = await openPresent(service, BLOB_C.digest);
  try {
    await reader.seek(offset);
    return await readExact(reader, length);
  } catch (error) {
    if (isCastoreError(error, "Integrity")) return "integrity";
    throw error;
  } finally {
    await reader.close();
  }
}

/** BLOB_C edited in three places (an insertion, a deletion, an overwrite), as a new version of a file. */
function editedBlobC(): Uint8Array {
  const data = BLOB_C.data;
  return concatBytes([
    data.subarray(0, 1_000_000),
    pseudoRandomBytes(700, 1), // inserted
    data.subarray(1_000_000, 2_500_000),
    data.subarray(2_500_900, 4_000_000), // 900 bytes deleted
    pseudoRandomBytes(300, 2), // 300 bytes overwritten
    data.subarray(4_000_300),
  ]);
}

/** Chunk lists, chunks as blobs, random access and sharing (`chunks`, `corrupt`, `storedBytes`). */
export const chunkCases: ConformanceCase[] = [
  {
    id: "chunks/list-shape",
    title: "chunks() is undefined for an absent blob, and otherwise [] or a list of 2+ chunks that covers the blob",
    async run({ service, capabilities }) {
      checkEqual(await service.chunks(DUMMY_DIGEST), undefined, "chunks() of an absent blob");
      await put(service, HELLOWORLD.data);
      await put(service, BLOB_C.data);
      const small = await chunkList(service, HELLOWORLD.digest, HELLOWORLD.data.length, "HELLOWORLD");
      await chunkList(service, BLOB_C.digest, BLOB_C.data.length, "BLOB_C");
      if (capabilities.chunks) checkEqual(small.length, 0, "number of chunks of the 12-byte HELLOWORLD");
    },
  },
  {
    id: "chunks/chunks-are-blobs",
    title: "every chunk of a chunked blob is a blob: present, readable by its digest, and hashing to it",
    skipReason: requires("chunks"),
    async run({ service }) {
      const chunks = await chunkedBlobC(service);
      const starts = boundaries(chunks);
      for (const [index, chunk] of chunks.entries()) {
        const name = `chunk ${index} of BLOB_C (${chunk.digest})`;
        checkEqual(await service.has(chunk.digest), true, `has(${name})`);
        // readBlob reads to the end, so the reader has checked the bytes against the chunk digest.
        const bytes = await readBlob(service, chunk.digest);
        const start = starts[index] as number;
        checkBytes(bytes, BLOB_C.data.subarray(start, start + chunk.size), name);
        checkEqual((await service.chunks(chunk.digest))?.length, 0, `number of chunks of ${name}`);
      }
    },
  },
  {
    id: "chunks/random-reads",
    title: "reads anywhere in a chunked blob (across chunk boundaries, from the end, backwards) return the right bytes",
    skipReason: requires("chunks"),
    async run({ service }) {
      const chunks = await chunkedBlobC(service);
      const starts = boundaries(chunks);
      const size = BLOB_C.data.length;
      const reader = await openPresent(service, BLOB_C.digest);
      try {
        const check = async (offset: number, length: number, how: string) => {
          const bytes = await readExact(reader, length);
          checkBytes(bytes, BLOB_C.data.subarray(offset, offset + length), `${length} bytes at ${offset} (${how})`);
        };
        // Across every inner boundary, from the last chunk backwards to the first.
        for (const boundary of starts.slice(1, -1).reverse()) {
          checkEqual(await reader.seek(boundary - 100), boundary - 100, "seek to just before a chunk boundary");
          await check(boundary - 100, 200, "across a chunk boundary");
        }
        // From the end: the last bytes, and a read spanning the last two chunks.
        const lastStart = starts[starts.length - 2] as number;
        checkEqual(await reader.seek(-10, "end"), size - 10, "seek(-10, end)");
        await check(size - 10, 10, "the last 10 bytes");
        checkEqual(await reader.read(), undefined, "read() at the end");
        checkEqual(await reader.seek(lastStart - size - 5, "end"), lastStart - 5, "seek from the end");
        await check(lastStart - 5, 10, "across the last boundary, seeking from the end");
        // Pseudo-random places and lengths, moving relative to the current position too.
        const random = pseudoRandomBytes(64, 0x5eed);
        const view = new DataView(random.buffer);
        for (let i = 0; i < 8; i++) {
          const offset = view.getUint32(i * 8, true) % size;
          const length = Math.min(size - offset, 1 + (view.getUint32(i * 8 + 4, true) % 700_000));
          const target = await reader.seek(offset - reader.position, "current");
          checkEqual(target, offset, "seek(…, current)");
          await check(offset, length, "a random range");
        }
      } finally {
        await reader.close();
      }
    },
  },
  {
    id: "chunks/corrupt-chunk",
    title: "a corrupted chunk fails exactly the reads that touch it, with Integrity",
    skipReason: requiresAll("chunks", "corrupt"),
    async run({ service, capabilities }) {
      const chunks = await chunkedBlobC(service);
      const starts = boundaries(chunks);
      const bad = Math.floor(chunks.length / 2);
      const badChunk = chunks[bad] as ChunkMeta;
      const badStart = starts[bad] as number;
      const badEnd = starts[bad + 1] as number;
      await capabilities.corrupt!(service, badChunk.digest);
      const ranges: [number, number, string][] = [
        [0, badStart, "everything before the chunk"],
        [badEnd, BLOB_C.data.length - badEnd, "everything after the chunk"],
        [badStart - 50, 100, "across the boundary into the chunk"],
        [badEnd - 50, 100, "across the boundary out of the chunk"],
        [badStart + 1, 10, "10 bytes inside the chunk"],
      ];
      for (const [offset, length, what] of ranges) {
        const touches = offset < badEnd && offset + length > badStart;
        const result = await readRange(service, offset, length);
        if (touches) checkEqual(result, "integrity", `reading ${what}`);
        else {
          if (result === "integrity") throw new ConformanceFailure(`reading ${what} failed with Integrity`);
          checkBytes(result, BLOB_C.data.subarray(offset, offset + length), `reading ${what}`);
        }
      }
      const direct = await openPresent(service, badChunk.digest);
      try {
        await readExact(direct, badChunk.size);
        await direct.read();
        throw new ConformanceFailure("reading the corrupted chunk by its own digest did not fail");
      } catch (error) {
        if (!isCastoreError(error, "Integrity")) throw error;
      } finally {
        await direct.close();
      }
    },
  },
  {
    id: "chunks/shared-region",
    title: "two blobs sharing most of their bytes share chunks: the second costs only its new chunks",
    skipReason: requiresAll("chunks", "storedBytes"),
    async run({ service, capabilities }) {
      const storedBytes = capabilities.storedBytes!;
      const first = await chunkedBlobC(service);
      const afterFirst = await storedBytes(service);
      check(afterFirst >= BLOB_C.data.length, `storedBytes is ${afterFirst} after storing BLOB_C`);
      await put(service, BLOB_C.data);
      checkEqual(await storedBytes(service), afterFirst, "storedBytes after storing BLOB_C again");

      const edited = editedBlobC();
      const digest = await put(service, edited);
      const second = await chunkList(service, digest, edited.length, "edited BLOB_C");
      const known = new Set(first.map((chunk) => chunk.digest.toString()));
      const fresh = new Map<string, number>();
      for (const chunk of second)
        if (!known.has(chunk.digest.toString())) fresh.set(chunk.digest.toString(), chunk.size);
      const expectedGrowth = [...fresh.values()].reduce((sum, size) => sum + size, 0);
      checkEqual((await storedBytes(service)) - afterFirst, expectedGrowth, "bytes added by the edited blob");
      // Three small edits change a few chunks around each, never most of the blob.
      check(
        expectedGrowth < edited.length / 2,
        `the edited blob shares too little: ${fresh.size} of its ${second.length} chunks (${expectedGrowth} bytes) are new`,
      );
      checkBytes(await readBlob(service, digest), edited, "the edited blob read back");
    },
  },
];
