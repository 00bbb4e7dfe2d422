// A far tier that goes away: a real gRPC server that is stopped. What near holds stays readable;
// what needs far fails with `Unavailable`, and nothing half-fetched lands near.
import { type B3Digest, type BlobService, readAll } from "castore-core";
import { SqliteBlobService } from "castore-sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheBlobService } from "../src/index.js";
import { putRandomBlob, readRange } from "./support/random-blob.js";
import { type ServedFar, serveFar } from "./support/served-far.js";

const SIZE = 3 << 20; // about twelve 256 KiB chunks

async function readWhole(store: BlobService, digest: B3Digest): Promise<Uint8Array> {
  const reader = await store.openRead(digest);
  if (!reader) throw new Error(`${digest} is absent`);
  try {
    return await readAll(reader);
  } finally {
    await reader.close();
  }
}

describe("far down", () => {
  let served: ServedFar;
  let near: SqliteBlobService;
  let cache: CacheBlobService;
  /** Written through the cache: near has it. */
  let nearBlob: B3Digest;
  /** Only far has it, and it was never read. */
  let farBlob: B3Digest;
  /** Only far had it; a full read through the cache filled near with it. */
  let filledBlob: B3Digest;
  let filledBytes: Uint8Array;
  /** Only far had it; a range read through the cache filled near with the chunks it touched. */
  let partlyBlob: B3Digest;
  let partlyRange: Uint8Array;

  beforeAll(async () => {
    served = await serveFar();
    near = await SqliteBlobService.open();
    cache = new CacheBlobService({ near, far: served.client });
    nearBlob = await putRandomBlob(cache, SIZE);
    farBlob = await putRandomBlob(served.client, SIZE);
    filledBlob = await putRandomBlob(served.client, SIZE);
    filledBytes = await readWhole(cache, filledBlob);
    await cache.settled();
    expect(await near.has(filledBlob)).toBe(true); // stored whole after the complete read
    partlyBlob = await putRandomBlob(served.client, SIZE);
    partlyRange = await readRange(cache, partlyBlob, 1 << 20, 4096);
    expect(await near.has(partlyBlob)).toBe(false); // only the chunks the range touched
    await served.stop();
  });

  afterAll(async () => {
    await cache.close();
  });

  it("keeps serving what near has, without asking far", async () => {
    expect(await cache.has(nearBlob)).toBe(true);
    expect((await readWhole(cache, nearBlob)).length).toBe(SIZE);
    expect((await cache.chunks(nearBlob))?.length).toBeGreaterThan(1);
  });

  it("keeps serving a blob an earlier complete read filled near", async () => {
    expect(Buffer.from(await readWhole(cache, filledBlob)).equals(Buffer.from(filledBytes))).toBe(true);
  });

  it("keeps serving the ranges an earlier read filled near, and fails the others with Unavailable", async () => {
    const again = await readRange(cache, partlyBlob, 1 << 20, 4096);
    expect(Buffer.from(again).equals(Buffer.from(partlyRange))).toBe(true);
    await expect(readRange(cache, partlyBlob, 2 << 20, 4096)).rejects.toMatchObject({ code: "Unavailable" });
  });

  it("fails reads that need far with Unavailable", async () => {
    await expect(cache.openRead(farBlob)).rejects.toMatchObject({ code: "Unavailable" });
    await expect(cache.has(farBlob)).rejects.toMatchObject({ code: "Unavailable" });
    await expect(cache.chunks(farBlob)).rejects.toMatchObject({ code: "Unavailable" });
  });

  it("fails a write through to far with Unavailable", async () => {
    const through = new CacheBlobService({ near, far: served.client, write: "through", closeTiers: false });
    await expect(putRandomBlob(through, 1000)).rejects.toMatchObject({ code: "Unavailable" });
    await through.close();
  });
});
