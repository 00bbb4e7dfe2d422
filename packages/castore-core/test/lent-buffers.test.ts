import { describe, expect, it } from "vitest";
import { type ChunkBytes, ChunkedReader, type ChunkedReaderOptions } from "../src/backend.js";
import { type ChunkMeta, isAborted, isBackend, isIntegrity, readAll } from "../src/index.js";
import { type ChunkedBlob, chunkedBlob, rejection, same } from "./support/chunked-blob.js";

/**
 * A reader over `blob` whose store copies each chunk into the buffer it is lent, and which records
 * every buffer the reader allocated to lend.
 */
function lendingReader(blob: ChunkedBlob, options: Partial<ChunkedReaderOptions> = {}) {
  const allocated: Uint8Array[] = [];
  const reader = new ChunkedReader(blob.digest, blob.data.length, blob.chunks, {
    chunkBuffers: (size) => {
      const buffer = new Uint8Array(size);
      allocated.push(buffer);
      return buffer;
    },
    openChunk: async (chunk, _signal, into) => {
      const bytes = blob.store.get(chunk.digest.toHex()) as Uint8Array;
      if (!into) throw new Error("the reader lent no buffer");
      into.set(bytes);
      return into.subarray(0, bytes.length);
    },
    ...options,
  });
  return { reader, allocated };
}

/** Reads to the end into two buffers in turn, overwriting each result and buffer as soon as it is copied. */
async function readIntoBuffers(reader: ChunkedReader, size: number): Promise<Uint8Array> {
  const buffers = [new Uint8Array(size), new Uint8Array(size)];
  const parts: Uint8Array[] = [];
  for (let turn = 0; ; turn ^= 1) {
    const into = buffers[turn] as Uint8Array;
    const part = await reader.read({ into });
    if (!part) return Buffer.concat(parts);
    expect(part.buffer).toBe(into.buffer);
    expect(part.length).toBeLessThanOrEqual(size);
    parts.push(new Uint8Array(part));
    into.fill(0xa5);
  }
}

/** Whether `bytes` lies in one of `buffers`. */
const inAny = (bytes: Uint8Array, buffers: readonly Uint8Array[]) => buffers.some((b) => b.buffer === bytes.buffer);

describe("ChunkedReader with lent buffers (chunkBuffers) and reads into the caller's buffer", () => {
  it("moves a whole blob through a few buffers: as many as chunks are held at once, each as large as the largest chunk", async () => {
    const blob = await chunkedBlob(200_000);
    expect(blob.chunks.length).toBeGreaterThan(50);
    const { reader, allocated } = lendingReader(blob, { window: 4 });
    expect(same(await readIntoBuffers(reader, 8192), blob.data)).toBe(true);
    // The window's fetches, plus the one whose bytes are being copied out as the next is lent.
    expect(allocated.length).toBeGreaterThan(0);
    expect(allocated.length).toBeLessThanOrEqual(5);
    const largest = Math.max(...blob.chunks.map((c) => c.size));
    for (const buffer of allocated) expect(buffer.length).toBe(largest);
  });

  it("reads back the same bytes after seeks, however the caller overwrote what it got", async () => {
    const blob = await chunkedBlob(60_000, 11);
    const { reader } = lendingReader(blob, { window: 3 });
    expect(same(await readIntoBuffers(reader, 1000), blob.data)).toBe(true);
    for (const offset of [0, 17_001, 59_999, 30_000]) {
      await reader.seek(offset);
      expect(same(await readIntoBuffers(reader, 777), blob.data.subarray(offset))).toBe(true);
    }
    await reader.seek(5);
    expect(same(await readAll(reader), blob.data.subarray(5))).toBe(true);
  });

  it("never hands a lent buffer out: plain reads get copies, which a caller may overwrite", async () => {
    const blob = await chunkedBlob(40_000, 3);
    const { reader, allocated } = lendingReader(blob, { ownsChunks: true, handOutViews: true });
    const parts: Uint8Array[] = [];
    for (let part = await reader.read(); part; part = await reader.read()) {
      expect(inAny(part, allocated)).toBe(false);
      parts.push(new Uint8Array(part));
      part.fill(0);
    }
    expect(same(Buffer.concat(parts), blob.data)).toBe(true);
  });

  it("does not lend a buffer again while a fetch that was dropped may still write into it", async () => {
    const blob = await chunkedBlob(30_000, 5);
    const late: { into: Uint8Array; finish: () => void }[] = [];
    let holdFirst = true;
    let heldFetchStarted = () => {};
    const heldFetch = new Promise<void>((resolve) => {
      heldFetchStarted = resolve;
    });
    const { reader, allocated } = lendingReader(blob, {
      window: 1,
      openChunk: (chunk: ChunkMeta, _signal: AbortSignal, into?: Uint8Array): Promise<ChunkBytes | undefined> => {
        const bytes = blob.store.get(chunk.digest.toHex()) as Uint8Array;
        const target = into as Uint8Array;
        if (!holdFirst) {
          target.set(bytes);
          return Promise.resolve(target.subarray(0, bytes.length));
        }
        holdFirst = false;
        // This fetch finishes only when the test says so, and then writes garbage into its buffer.
        heldFetchStarted();
        return new Promise((resolve) =>
          late.push({
            into: target,
            finish: () => {
              target.fill(0xee);
              resolve(target.subarray(0, bytes.length));
            },
          }),
        );
      },
    });
    const controller = new AbortController();
    const stalled = reader.read({ maxBytes: 10, signal: controller.signal });
    await heldFetch;
    controller.abort();
    expect(isAborted(await rejection(stalled))).toBe(true);
    // The reader moves on to another chunk while the first fetch is still out.
    const middle = blob.chunks.length >> 1;
    const offset = blob.chunks.slice(0, middle).reduce((sum, c) => sum + c.size, 0);
    await reader.seek(offset);
    // Ten bytes: the reader still holds the rest of that chunk when the stray fetch writes.
    const first = new Uint8Array((await reader.read({ into: new Uint8Array(10) })) as Uint8Array);
    const stray = late[0];
    expect(stray).toBeDefined();
    expect(allocated.some((b) => b.buffer === stray?.into.buffer)).toBe(true);
    stray?.finish();
    await new Promise((resolve) => setImmediate(resolve));
    const rest = await readIntoBuffers(reader, 4096);
    expect(same(Buffer.concat([first, rest]), blob.data.subarray(offset))).toBe(true);
  });

  it("checks bytes read into a lent buffer like any other: a wrong chunk is an Integrity error", async () => {
    const blob = await chunkedBlob(20_000, 9);
    const { reader } = lendingReader(blob, {
      openChunk: async (chunk, _signal, into) => {
        const bytes = blob.store.get(chunk.digest.toHex()) as Uint8Array;
        const target = into as Uint8Array;
        target.set(bytes);
        target[0] = (target[0] as number) ^ 1;
        return target.subarray(0, bytes.length);
      },
    });
    expect(isIntegrity(await rejection(readIntoBuffers(reader, 4096)))).toBe(true);
  });

  it("accepts no chunk dressed up as one whose digest castore-core computed: a typed error, no bytes", async () => {
    const blob = await chunkedBlob(10_000, 13);
    const reader = new ChunkedReader(blob.digest, blob.data.length, blob.chunks, {
      // Wrong bytes, claimed to hash to the chunk's digest.
      openChunk: async (chunk) =>
        ({ bytes: new Uint8Array(chunk.size), digest: chunk.digest.unsafeBytes }) as unknown as ChunkBytes,
    });
    expect(isBackend(await rejection(reader.read()))).toBe(true);
  });
});
