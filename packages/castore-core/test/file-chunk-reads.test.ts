import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { ChunkedReader } from "../src/backend.js";
import { ChunkReadPool, movableChunkBuffer, readFileChunk, sharedChunkBuffer } from "../src/file-chunk-reads.js";
import { type ChunkMeta, digestOf, isBackend, isIntegrity, isInvalidArgument, readAll } from "../src/index.js";
import { DigestedBytes } from "../src/readers/digested-bytes.js";
import { rejection, same } from "./support/chunked-blob.js";
import { xorshiftBytes } from "./support/xorshift.js";

const packageDir = join(import.meta.dirname, "..");
const dir = mkdtempSync(join(tmpdir(), "castore-file-chunk-reads-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file of `length` deterministic bytes, and those bytes. */
function file(name: string, length: number, seed = 1): { path: string; data: Uint8Array } {
  const path = join(dir, name);
  const data = xorshiftBytes(length, seed);
  writeFileSync(path, data);
  return { path, data };
}

describe("readFileChunk", () => {
  it("reads a range into shared memory in a worker thread and brings its BLAKE3 digest with it", async () => {
    const { path, data } = file("range", 1_000_000);
    const into = sharedChunkBuffer(300_000);
    const result = await readFileChunk(path, 123_450, into);
    expect(DigestedBytes.is(result)).toBe(true);
    const { bytes, digest } = result as DigestedBytes;
    expect(bytes.buffer).toBe(into.buffer);
    expect(same(bytes, data.subarray(123_450, 423_450))).toBe(true);
    expect((await digestOf(data.subarray(123_450, 423_450))).equals(digest)).toBe(true);
  });

  it("moves a movable buffer's memory to a worker thread and back, with the digest of what it read there", async () => {
    const { path, data } = file("moved", 1_000_000, 2);
    const into = movableChunkBuffer(400_000).subarray(0, 300_000);
    const result = await readFileChunk(path, 123_450, into);
    expect(DigestedBytes.is(result)).toBe(true);
    const { bytes, digest } = result as DigestedBytes;
    // The lent view lost its memory to the thread; the same memory came back in a new ArrayBuffer.
    expect((into.buffer as ArrayBuffer).detached).toBe(true);
    expect(bytes.buffer).not.toBe(into.buffer);
    expect(bytes.buffer.byteLength).toBe(400_000);
    expect(bytes.byteOffset).toBe(0);
    expect(same(bytes, data.subarray(123_450, 423_450))).toBe(true);
    expect((await digestOf(data.subarray(123_450, 423_450))).equals(digest)).toBe(true);
    // What came back can be moved again.
    const again = (await readFileChunk(path, 0, new Uint8Array(bytes.buffer, 0, 200_000))) as DigestedBytes;
    expect(DigestedBytes.is(again)).toBe(true);
    expect((bytes.buffer as ArrayBuffer).detached).toBe(true);
    expect(same(again.bytes, data.subarray(0, 200_000))).toBe(true);
    // A file that is not there keeps the memory it was sent: a read into the lent buffer again is
    // refused, not a read of nothing.
    const lost = movableChunkBuffer(100_000);
    expect(await readFileChunk(join(dir, "absent"), 0, lost)).toBeUndefined();
    expect(isInvalidArgument(await rejection(readFileChunk(path, 0, lost)))).toBe(true);
    // A range under 64 KiB is read where it is, into the movable buffer, which stays.
    const short = movableChunkBuffer(1_000);
    expect((await readFileChunk(path, 5, short)) as Uint8Array).toEqual(data.subarray(5, 1_005));
    expect((short.buffer as ArrayBuffer).detached).toBe(false);
  });

  it("returns fewer bytes where the file ends first, and their digest", async () => {
    const { path, data } = file("short", 200_000);
    const result = (await readFileChunk(path, 150_000, sharedChunkBuffer(100_000))) as DigestedBytes;
    expect(result.bytes.length).toBe(50_000);
    expect((await digestOf(data.subarray(150_000))).equals(result.digest)).toBe(true);
  });

  it("answers undefined for a file that does not exist, and the file system's error for one it cannot read", async () => {
    for (const size of [10, 100_000]) {
      expect(await readFileChunk(join(dir, "absent"), 0, sharedChunkBuffer(size))).toBeUndefined();
      const failure = await rejection(readFileChunk(dir, 0, sharedChunkBuffer(size)));
      expect((failure as NodeJS.ErrnoException).code).toBe("EISDIR");
    }
  });

  it("reads a range under 64 KiB on the calling thread, as a plain view left to the caller to hash", async () => {
    const { path, data } = file("inline", 100_000, 3);
    const into = sharedChunkBuffer(65_535);
    const result = await readFileChunk(path, 1_000, into);
    expect(DigestedBytes.is(result)).toBe(false);
    expect((result as Uint8Array).buffer).toBe(into.buffer);
    expect(same(result as Uint8Array, data.subarray(1_000, 66_535))).toBe(true);
  });

  it("reads into memory that is not shared in the thread pool, as a plain view of it", async () => {
    const { path, data } = file("plain", 500_000);
    const into = new Uint8Array(100_000);
    const result = await readFileChunk(path, 450_000, into);
    expect(DigestedBytes.is(result)).toBe(false);
    expect((result as Uint8Array).buffer).toBe(into.buffer);
    expect(same(result as Uint8Array, data.subarray(450_000))).toBe(true);
    expect(await readFileChunk(join(dir, "absent"), 0, into)).toBeUndefined();
  });

  it("keeps many reads apart: each buffer gets its own range", async () => {
    const size = 65_536;
    const { path, data } = file("many", 24 * size, 5);
    const reads = Array.from({ length: 24 }, (_, i) => readFileChunk(path, i * size, sharedChunkBuffer(size)));
    const results = (await Promise.all(reads)) as DigestedBytes[];
    for (const [i, result] of results.entries()) {
      expect(DigestedBytes.is(result)).toBe(true);
      expect(same(result.bytes, data.subarray(i * size, (i + 1) * size))).toBe(true);
    }
  });

  it("serves a ChunkedReader, whose reads check the digests the threads computed", async () => {
    const { path, data } = file("blob", 500_000, 9);
    const sizes = [100_000, 70_000, 130_000, 200_000];
    const chunks: ChunkMeta[] = [];
    const offsets = new Map<string, number>();
    let offset = 0;
    for (const size of sizes) {
      const digest = await digestOf(data.subarray(offset, offset + size));
      chunks.push({ digest, size });
      offsets.set(digest.toHex(), offset);
      offset += size;
    }
    const blobDigest = await digestOf(data);
    const open = () =>
      new ChunkedReader(blobDigest, 500_000, chunks, {
        chunkBuffers: sharedChunkBuffer,
        chunkListProven: true,
        openChunk: (chunk, _signal, into) =>
          readFileChunk(path, offsets.get(chunk.digest.toHex()) as number, into as Uint8Array),
      });
    expect(same(await readAll(open()), data)).toBe(true);
    // The third chunk's bytes now read from the start of the file: other bytes than its digest names.
    offsets.set(chunks[2]?.digest.toHex() as string, 0);
    expect(isIntegrity(await rejection(readAll(open())))).toBe(true);
  });

  it("serves a ChunkedReader from movable buffers, which the reader takes back and lends again", async () => {
    const { path, data } = file("moved-blob", 2_000_000, 11);
    const chunks: ChunkMeta[] = [];
    const offsets = new Map<string, number>();
    for (let offset = 0; offset < data.length; offset += 100_000) {
      const digest = await digestOf(data.subarray(offset, offset + 100_000));
      chunks.push({ digest, size: 100_000 });
      offsets.set(digest.toHex(), offset);
    }
    let allocated = 0;
    const reader = new ChunkedReader(await digestOf(data), data.length, chunks, {
      window: 4,
      chunkBuffers: (size) => {
        allocated++;
        return movableChunkBuffer(size);
      },
      openChunk: (chunk, _signal, into) =>
        readFileChunk(path, offsets.get(chunk.digest.toHex()) as number, into as Uint8Array),
    });
    expect(same(await readAll(reader), data)).toBe(true);
    // Twenty chunks through a window of four: the memory that came back was lent again.
    expect(allocated).toBeLessThanOrEqual(5);
  });

  it("trusts a thread's digest only for the buffer lent for that chunk, and only as the thread made it", async () => {
    const { path, data } = file("trust", 200_000, 17);
    const digest = await digestOf(data.subarray(0, 100_000));
    const chunks = [{ digest, size: 100_000 }];
    const blobDigest = await digestOf(data.subarray(0, 100_000));
    // A digested chunk of the right bytes, read into a buffer of the store's own: not the one lent.
    const elsewhere = await readFileChunk(path, 0, sharedChunkBuffer(100_000));
    expect(DigestedBytes.is(elsewhere)).toBe(true);
    const notLent = new ChunkedReader(blobDigest, 100_000, chunks, {
      chunkBuffers: sharedChunkBuffer,
      openChunk: async () => elsewhere,
    });
    expect(isBackend(await rejection(readAll(notLent)))).toBe(true);
    // A real one whose fields someone tries to replace keeps what the thread computed.
    const forged = (await readFileChunk(path, 100_000, sharedChunkBuffer(100_000))) as DigestedBytes;
    expect(() => Object.assign(forged, { digest: digest.unsafeBytes })).toThrow(TypeError);
    expect(digest.equals(forged.digest)).toBe(false);
  });

  it("reads in libuv's thread pool when its threads cannot work (here: their BLAKE3 module is missing)", async () => {
    const { path, data } = file("fallback", 30_000, 21);
    const pool = new ChunkReadPool(join(dir, "no-such-module.js"));
    const reads = Array.from({ length: 6 }, (_, i) => pool.read(path, i * 5_000, sharedChunkBuffer(5_000)));
    const results = await Promise.all(reads);
    for (const [i, result] of results.entries()) {
      expect(DigestedBytes.is(result)).toBe(false);
      expect(same(result as Uint8Array, data.subarray(i * 5_000, (i + 1) * 5_000))).toBe(true);
    }
    // And from then on, without trying threads again.
    const later = await pool.read(path, 0, sharedChunkBuffer(100));
    expect(same(later as Uint8Array, data.subarray(0, 100))).toBe(true);
  });

  it("reads again into fresh memory what a failed thread took a movable buffer's memory for", async () => {
    const { path, data } = file("moved-fallback", 300_000, 23);
    const pool = new ChunkReadPool(join(dir, "no-such-module.js"));
    const lent = Array.from({ length: 4 }, () => movableChunkBuffer(70_000));
    const results = await Promise.all(lent.map((into, i) => pool.read(path, i * 70_000, into)));
    for (const [i, result] of results.entries()) {
      // The thread failed with the memory: what the read returns is new memory, for the caller to hash.
      expect(((lent[i] as Uint8Array).buffer as ArrayBuffer).detached).toBe(true);
      expect(DigestedBytes.is(result)).toBe(false);
      expect((result as Uint8Array).length).toBe(70_000);
      expect(same(result as Uint8Array, data.subarray(i * 70_000, (i + 1) * 70_000))).toBe(true);
    }
    // From then on the buffers stay where they are, read in the thread pool.
    const into = movableChunkBuffer(70_000);
    const later = await pool.read(path, 0, into);
    expect((later as Uint8Array).buffer).toBe(into.buffer);
    expect(same(later as Uint8Array, data.subarray(0, 70_000))).toBe(true);
  });

  it("does not keep a process alive once its reads are done", async () => {
    const { path } = file("exit", 100_000);
    const program = `
      import { readFileChunk, sharedChunkBuffer } from "castore-core/node";
      const result = await readFileChunk(${JSON.stringify(path)}, 0, sharedChunkBuffer(100_000));
      console.log(result.bytes.length);`;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", program], {
      cwd: packageDir,
    });
    expect(stdout.trim()).toBe("100000");
  });
});
