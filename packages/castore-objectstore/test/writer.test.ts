import { digestOf, putBlob, readAll, statisticsOf } from "castore-core";
import { pseudoRandomBytes } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { PROBE_MISSES } from "../src/chunk-uploads.js";
import { MemoryObjectStore } from "../src/memory-store.js";
import type { ObjectStore } from "../src/object-store.js";
import { ObjectStoreBlobService } from "../src/service.js";

const AVG = 4096;
const service = () => new ObjectStoreBlobService(new MemoryObjectStore(), { avgChunkSize: AVG, uploadConcurrency: 1 });

describe("ObjectStoreBlobWriter", () => {
  it("new data: one conditional put per chunk once HEAD has missed a few times", async () => {
    const store = service();
    const data = pseudoRandomBytes(256 * 1024, 1);
    const digest = await putBlob(store, data);
    const chunks = (await store.chunks(digest)) ?? [];
    expect(chunks.length).toBeGreaterThan(20);
    expect(store.stats).toMatchObject({ chunksPut: chunks.length, chunksSkipped: 0, chunkBytesWasted: 0, blobsPut: 1 });
    // The same again: every chunk found present. An unbounded store reports no sizes.
    await putBlob(store, data);
    expect(statisticsOf(store)).toEqual({ chunksWritten: chunks.length, chunksDeduplicated: chunks.length });
    await store.close();
  });

  it("known data after new data: HEAD again from the first refused put, at most one chunk sent in vain", async () => {
    const store = service();
    const known = pseudoRandomBytes(256 * 1024, 2);
    await putBlob(store, known);
    const before = { ...store.stats };
    // New bytes first (the writer stops probing), then the known blob: its chunks are found again.
    const fresh = pseudoRandomBytes(64 * 1024, 3);
    const combined = new Uint8Array(fresh.length + known.length);
    combined.set(fresh);
    combined.set(known, fresh.length);
    const digest = await putBlob(store, combined);
    const wasted = store.stats.chunkBytesWasted - before.chunkBytesWasted;
    expect(wasted).toBeLessThanOrEqual(2 * AVG + 64); // one chunk (≤ max size) plus framing
    expect(store.stats.chunksSkipped - before.chunksSkipped).toBeGreaterThan(20);
    expect(
      Buffer.from(await readAll((await store.openRead(digest)) as AsyncIterable<Uint8Array>)).equals(
        Buffer.from(combined),
      ),
    ).toBe(true);
    expect(PROBE_MISSES).toBeGreaterThan(0);
    await store.close();
  });

  it("an aborted writer leaves no blob, at most chunks nothing refers to", async () => {
    const objects = new MemoryObjectStore();
    const store = new ObjectStoreBlobService(objects, { avgChunkSize: AVG });
    const data = pseudoRandomBytes(128 * 1024, 4);
    const writer = await store.openWrite();
    await writer.write(data);
    await writer.abort();
    expect(await store.has(await digestOf(data))).toBe(false);
    expect(objects.keys().filter((key) => key.startsWith("blobs/"))).toEqual([]);
    // A later writer of the same bytes reuses whatever chunks the aborted one left.
    expect(await putBlob(store, data)).toEqual(await digestOf(data));
    await store.close();
  });

  it("a chunk repeated inside one blob is uploaded once", async () => {
    const store = service();
    const block = pseudoRandomBytes(64 * 1024, 5);
    const data = new Uint8Array(block.length * 4);
    for (let i = 0; i < 4; i++) data.set(block, i * block.length);
    const digest = await putBlob(store, data);
    const chunks = (await store.chunks(digest)) ?? [];
    const distinct = new Set(chunks.map((chunk) => chunk.digest.toString())).size;
    expect(distinct).toBeLessThan(chunks.length);
    expect(store.stats.chunksPut).toBe(distinct);
    await store.close();
  });

  it("reused frame buffers: a chunk object's bytes stay as given while its put runs, and for good after a refused put", async () => {
    const objects = new MemoryObjectStore();
    const changedInFlight: string[] = [];
    const refused: { key: string; bytes: Uint8Array; copy: Uint8Array }[] = [];
    // Stands for a service that reads the body while the request runs, and may answer 412 before
    // reading it all: it refuses every chunk put (after HEAD said absent), which keeps the writer
    // going back to probing and putting again, with buffers reused all along.
    const store: ObjectStore = {
      description: "refusing",
      get: (key) => objects.get(key),
      head: async () => false,
      async putIfAbsent(key, bytes) {
        const copy = bytes.slice();
        await new Promise((resolve) => setImmediate(resolve));
        if (!Buffer.from(bytes).equals(Buffer.from(copy))) changedInFlight.push(key);
        if (key.startsWith("chunks/") && refused.length < 8) {
          refused.push({ key, bytes, copy });
          return false;
        }
        return objects.putIfAbsent(key, copy);
      },
      close: () => objects.close(),
    };
    // Chunks of 32-128 KiB of random bytes: raw frames, written into reused buffers.
    const service = new ObjectStoreBlobService(store, { avgChunkSize: 64 * 1024, uploadConcurrency: 2 });
    const data = pseudoRandomBytes(4 * 1024 * 1024, 6);
    await putBlob(service, data);
    expect(changedInFlight).toEqual([]);
    expect(refused.length).toBe(8);
    for (const { key, bytes, copy } of refused) expect(Buffer.from(bytes).equals(Buffer.from(copy)), key).toBe(true);
    await service.close();
  });
});
