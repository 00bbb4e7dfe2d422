// What a fill stores: only verified bytes. A far store that hands out wrong bytes fails the read
// with `Integrity` and leaves near untouched; a near that cannot store does not fail the read.
import { type B3Digest, type BlobReader, readAll, type SignalOptions, statisticsOf } from "castore-core";
import { MemoryBlobService } from "castore-memory";
import { SqliteBlobService } from "castore-sqlite";
import { describe, expect, it } from "vitest";
import { CacheBlobService } from "../src/index.js";
import { CountingBlobService } from "./support/counting.js";
import { putRandomBlob } from "./support/random-blob.js";
import { tempDir } from "./support/temp.js";

/** A real store that answers reads of one digest with another blob's bytes, as a faulty far might. */
class MisroutingBlobService extends CountingBlobService {
  readonly routes = new Map<string, B3Digest>();

  override openRead(digest: B3Digest, options?: SignalOptions): Promise<BlobReader | undefined> {
    return super.openRead(this.routes.get(digest.toString()) ?? digest, options);
  }
}

describe("filling near", () => {
  it("fails with Integrity, and stores nothing, when far's bytes do not match the chunk", async () => {
    const far = new MisroutingBlobService(new MemoryBlobService());
    const near = new MemoryBlobService();
    const cache = new CacheBlobService({ near, far });
    const blob = await putRandomBlob(far, 2 << 20);
    const other = await putRandomBlob(far, 2 << 20);
    const [first] = (await far.chunks(blob)) ?? [];
    const [stranger] = (await far.chunks(other)) ?? [];
    if (!first || !stranger) throw new Error("expected chunked blobs");
    far.routes.set(first.digest.toString(), stranger.digest);
    const reader = await cache.openRead(blob);
    await expect(readAll(reader as BlobReader)).rejects.toMatchObject({ code: "Integrity" });
    expect(await near.has(first.digest)).toBe(false);
    expect(await near.has(stranger.digest)).toBe(false);
    await cache.close();
  });

  it("stores the whole blob near after a complete read, so later reads need neither far nor its chunk list", async () => {
    const far = new CountingBlobService(new MemoryBlobService());
    const near = new MemoryBlobService();
    const cache = new CacheBlobService({ near, far, chunkListMemo: 0 });
    const blob = await putRandomBlob(far, 3 << 20);
    const chunks = (await far.chunks(blob)) ?? [];
    expect((await readAll((await cache.openRead(blob)) as BlobReader)).length).toBe(3 << 20);
    await cache.settled();
    expect(await near.has(blob)).toBe(true);
    expect(cache.stats).toMatchObject({ farChunks: chunks.length, wholeBlobs: 1 });
    far.reset();
    expect((await readAll((await cache.openRead(blob)) as BlobReader)).length).toBe(3 << 20);
    expect(far.transfers.opens).toBe(0);
    await cache.close();
  });

  it("reports hits, misses and fills, with near's and far's own statistics as tiers", async () => {
    const far = new MemoryBlobService();
    const near = new MemoryBlobService();
    const cache = new CacheBlobService({ near, far });
    const blob = await putRandomBlob(far, 3 << 20);
    const chunks = (await far.chunks(blob)) ?? [];
    expect(statisticsOf(cache)).toMatchObject({ cacheHits: 0, cacheMisses: 0, cacheFills: 0 });
    // First read: every chunk from far (a miss) and into near (a fill), then the whole blob too.
    await readAll((await cache.openRead(blob)) as BlobReader);
    await cache.settled();
    // Second read: near has the whole blob, one hit.
    await readAll((await cache.openRead(blob)) as BlobReader);
    const statistics = statisticsOf(cache);
    expect(statistics).toMatchObject({
      cacheHits: 1,
      cacheMisses: chunks.length,
      cacheFills: chunks.length + 1,
      tiers: { near: { blobs: 1 + chunks.length, storedBytes: 3 << 20 }, far: { blobs: 1, storedBytes: 3 << 20 } },
    });
    await cache.close();
  });

  it("does not store the whole blob after a read that skipped part of it", async () => {
    const far = new MemoryBlobService();
    const near = new MemoryBlobService();
    const cache = new CacheBlobService({ near, far });
    const blob = await putRandomBlob(far, 3 << 20);
    const reader = (await cache.openRead(blob)) as BlobReader;
    const first = (await reader.read()) as Uint8Array;
    // Away and back without reading: every byte still comes in order, but the seeks ended
    // ChunkedReader's proof of the whole blob, so the blob is not known to be intact.
    await reader.seek(-1, "end");
    await reader.seek(first.length);
    await readAll(reader);
    await cache.settled();
    expect(await near.has(blob)).toBe(false);
    expect(cache.stats.wholeBlobs).toBe(0);
    await cache.close();
  });

  it("serves a one-piece far blob and stores it near", async () => {
    const far = new CountingBlobService(new MemoryBlobService());
    const near = new MemoryBlobService();
    const cache = new CacheBlobService({ near, far });
    const small = await putRandomBlob(far, 5000);
    expect(await far.chunks(small)).toEqual([]);
    expect((await readAll((await cache.openRead(small)) as BlobReader)).length).toBe(5000);
    expect(await near.has(small)).toBe(true);
    far.reset();
    expect((await readAll((await cache.openRead(small)) as BlobReader)).length).toBe(5000);
    expect(far.transfers.opens).toBe(0);
    await cache.close();
  });

  it("still reads when near refuses to store, counting the refusals", async () => {
    const dir = await tempDir();
    const path = `${dir}/near.sqlite`;
    await (await SqliteBlobService.open({ path })).close();
    const near = await SqliteBlobService.open({ path, readonly: true });
    const far = new MemoryBlobService();
    const cache = new CacheBlobService({ near, far });
    const blob = await putRandomBlob(far, 1 << 20);
    expect((await readAll((await cache.openRead(blob)) as BlobReader)).length).toBe(1 << 20);
    await cache.settled();
    const { farChunks, fillFailures } = cache.stats;
    expect(farChunks).toBeGreaterThan(1);
    // Every chunk, and then the whole blob after the complete read.
    expect(fillFailures).toBe(farChunks + 1);
    await cache.close();
  });

  it("returns undefined for a blob neither tier has", async () => {
    const cache = new CacheBlobService({ near: new MemoryBlobService(), far: new MemoryBlobService() });
    const absent = await putRandomBlob(new MemoryBlobService(), 10);
    expect(await cache.openRead(absent)).toBeUndefined();
    expect(await cache.has(absent)).toBe(false);
    expect(await cache.chunks(absent)).toBeUndefined();
    await cache.close();
  });
});

describe("write = through", () => {
  it("stores in near and far before close returns", async () => {
    const near = new MemoryBlobService();
    const far = new MemoryBlobService();
    const cache = new CacheBlobService({ near, far, write: "through" });
    const digest = await putRandomBlob(cache, 1 << 20);
    expect(await near.has(digest)).toBe(true);
    expect(await far.has(digest)).toBe(true);
    await cache.close();
  });

  it("writes near only by default", async () => {
    const near = new MemoryBlobService();
    const far = new MemoryBlobService();
    const cache = new CacheBlobService({ near, far });
    const digest = await putRandomBlob(cache, 1000);
    expect(await near.has(digest)).toBe(true);
    expect(await far.has(digest)).toBe(false);
    await cache.close();
  });
});
