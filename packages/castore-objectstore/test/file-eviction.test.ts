// objectstore+file with max_size keeps its object files within the bound by deleting the least
// recently used blobs and the chunks no remaining blob lists, in the background; never a blob an
// open reader reads, never the blob used last, never a chunk another blob lists or a writer holds.
import { type B3Digest, putBlob, statisticsOf } from "castore-core";
import { pseudoRandomBytes, readBlob, readExact, readToEnd } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { objectStoreFileBackend, objectStoreMemoryBackend } from "../src/index.js";
import { bytesOnDisk, danglingBlobs, openBounded, tempRoot } from "./support/bounded.js";

const KiB = 1024;
const MiB = 1024 * KiB;

function expectSame(actual: Uint8Array, expected: Uint8Array, what = "bytes"): void {
  expect(Buffer.compare(Buffer.from(actual), Buffer.from(expected)), what).toBe(0);
}

describe("objectstore+file max_size: the option", () => {
  it.each(["0", "-1", "abc", "1.5", "99999999999999999999"])(
    "max_size=%s is an InvalidAddress error naming max_size, and creates nothing",
    async (value) => {
      const root = await tempRoot();
      await expect(
        objectStoreFileBackend.open(new URL(`objectstore+file://${root}?max_size=${value}`)),
      ).rejects.toMatchObject({
        code: "InvalidAddress",
        message: expect.stringContaining('option "max_size"'),
      });
    },
  );

  it("is an unknown option for objectstore+memory, which never deletes", async () => {
    await expect(objectStoreMemoryBackend.open(new URL("objectstore+memory://?max_size=1000"))).rejects.toMatchObject({
      code: "InvalidAddress",
      message: expect.stringContaining('unknown option "max_size"'),
    });
  });

  it("bounds a store opened by address", async () => {
    const root = await tempRoot();
    const service = await objectStoreFileBackend.open(
      new URL(`objectstore+file://${root}?max_size=${300 * KiB}&avg_chunk_size=16384`),
    );
    for (let seed = 1; seed <= 6; seed++) await putBlob(service, pseudoRandomBytes(100 * KiB, seed));
    await service.close();
    // close waits for the pass under way; the store is within its bound plus what one writer may add.
    expect(await bytesOnDisk(root)).toBeLessThanOrEqual(300 * KiB + 8 * 32 * KiB + KiB);
  });
});

describe("objectstore+file max_size: eviction", () => {
  it("under 16× its bound in puts and reads, the directory never exceeds the bound by more than one upload window", async () => {
    // The figures are 64 MiB under 1 GiB; here 4 MiB under 64 MiB (same ratio): each
    // chunk costs two fsyncs and a rename, slow on a shared machine (8 MiB under 128 MiB took 51 s
    // in a full parallel test run).
    const maxSize = 4 * MiB;
    const avgChunkSize = 64 * KiB;
    // A writer has at most upload_concurrency (8) chunks of at most 2·avg in flight past the bound.
    const window = 8 * 2 * avgChunkSize + 4 * KiB;
    const root = await tempRoot();
    const { service, eviction } = await openBounded(root, maxSize, avgChunkSize);
    const written: { digest: B3Digest; seed: number; size: number }[] = [];
    let total = 0;
    let peak = 0;
    for (let seed = 1; total < 16 * maxSize; seed++) {
      const size = 16 * KiB + ((seed * 7919 * KiB) % MiB);
      written.push({ digest: await putBlob(service, pseudoRandomBytes(size, seed)), seed, size });
      total += size;
      peak = Math.max(peak, await bytesOnDisk(root));
      if (seed % 4 === 0) {
        const recent = written[written.length - 3];
        if (recent) expectSame(await readBlob(service, recent.digest), pseudoRandomBytes(recent.size, recent.seed));
      }
    }
    expect(peak).toBeLessThanOrEqual(maxSize + window);
    await eviction.settle();
    expect(await bytesOnDisk(root)).toBeLessThanOrEqual(maxSize);
    expect(eviction.storedSize).toBe(await bytesOnDisk(root));
    // What the daemon's metrics show: the index's figures and the evictions that got it there.
    const statistics = statisticsOf(service);
    expect(statistics).toMatchObject({ storedBytes: await bytesOnDisk(root) });
    expect(statistics?.evictions).toBeGreaterThan(0);
    expect((statistics?.blobs ?? 0) + (statistics?.evictions ?? 0)).toBe(written.length);
    const last = written[written.length - 1] as (typeof written)[number];
    expectSame(await readBlob(service, last.digest), pseudoRandomBytes(last.size, last.seed));
    expect(await service.has((written[0] as (typeof written)[number]).digest)).toBe(false);
    expect(await danglingBlobs(root)).toEqual([]);
    await service.close();
    // About a thousand chunk files, each with its fsyncs: 15 s alone, over a minute on a machine
    // whose load is ten times its cores.
  }, 600_000);

  it("evicts the least recently used blob first: a blob read lately survives older unread ones", async () => {
    const root = await tempRoot();
    const { service, eviction } = await openBounded(root, MiB, 16 * KiB);
    const digests: B3Digest[] = [];
    for (let seed = 1; seed <= 4; seed++) digests.push(await putBlob(service, pseudoRandomBytes(200 * KiB, seed)));
    await readBlob(service, digests[0] as B3Digest);
    digests.push(await putBlob(service, pseudoRandomBytes(200 * KiB, 5)));
    digests.push(await putBlob(service, pseudoRandomBytes(200 * KiB, 6)));
    await eviction.settle();
    expect(await service.has(digests[1] as B3Digest)).toBe(false);
    for (const i of [0, 2, 3, 4, 5]) expect(await service.has(digests[i] as B3Digest), `blob ${i}`).toBe(true);
    expect(await bytesOnDisk(root)).toBeLessThanOrEqual(MiB);
    await service.close();
  });

  it("a blob being read is not evicted mid-read: the read completes with the right bytes, the blob goes after", async () => {
    const root = await tempRoot();
    const { service, eviction } = await openBounded(root, MiB, 16 * KiB);
    const big = pseudoRandomBytes(600 * KiB, 10);
    const digest = await putBlob(service, big);
    const reader = await service.openRead(digest);
    if (!reader) throw new Error("just stored");
    const head = await readExact(reader, 100);
    const others: B3Digest[] = [];
    for (let seed = 11; seed < 21; seed++) others.push(await putBlob(service, pseudoRandomBytes(300 * KiB, seed)));
    await eviction.settle();
    expect(await service.has(digest)).toBe(true);
    expect(await service.has(others[0] as B3Digest)).toBe(false);
    expectSame(Buffer.concat([head, await readToEnd(reader)]), big);
    await reader.close();
    await putBlob(service, pseudoRandomBytes(300 * KiB, 30));
    await eviction.settle();
    expect(await service.has(digest)).toBe(false);
    expect(await danglingBlobs(root)).toEqual([]);
    await service.close();
  });

  it("a chunk shared with a blob that stays is never deleted with an evicted one", async () => {
    const root = await tempRoot();
    const { service, eviction } = await openBounded(root, 300 * KiB, 4 * KiB);
    const first = pseudoRandomBytes(96 * KiB, 40);
    const second = new Uint8Array(128 * KiB);
    second.set(first.subarray(0, 80 * KiB));
    second.set(pseudoRandomBytes(48 * KiB, 41), 80 * KiB);
    const firstDigest = await putBlob(service, first);
    const secondDigest = await putBlob(service, second);
    const firstChunks = new Set((await service.chunks(firstDigest))?.map((chunk) => chunk.digest.toHex()));
    const secondChunks = (await service.chunks(secondDigest)) ?? [];
    expect(secondChunks.filter((chunk) => firstChunks.has(chunk.digest.toHex())).length).toBeGreaterThan(5);
    for (let seed = 42; (await service.has(firstDigest)) && seed < 60; seed++) {
      await readBlob(service, secondDigest);
      await putBlob(service, pseudoRandomBytes(60 * KiB, seed));
      await eviction.settle();
    }
    expect(await service.has(firstDigest)).toBe(false);
    expectSame(await readBlob(service, secondDigest), second);
    expect(await danglingBlobs(root)).toEqual([]);
    await service.close();
  });

  it("a blob evicted while a writer is writing the same bytes is fully there once that writer closes", async () => {
    const root = await tempRoot();
    const { service, eviction } = await openBounded(root, 512 * KiB, 16 * KiB);
    const data = pseudoRandomBytes(200 * KiB, 50);
    const digest = await putBlob(service, data);
    const writer = await service.openWrite();
    await writer.write(data);
    for (let seed = 51; seed < 55; seed++) await putBlob(service, pseudoRandomBytes(150 * KiB, seed));
    await eviction.settle();
    expect(await service.has(digest)).toBe(false);
    expect((await writer.close()).equals(digest)).toBe(true);
    expectSame(await readBlob(service, digest), data);
    expect(await danglingBlobs(root)).toEqual([]);
    await service.close();
  });

  it("uses survive a restart (as blob objects' modification times)", async () => {
    const root = await tempRoot();
    let { service, eviction } = await openBounded(root, MiB, 16 * KiB);
    const a = await putBlob(service, pseudoRandomBytes(300 * KiB, 80));
    const b = await putBlob(service, pseudoRandomBytes(300 * KiB, 81));
    await readBlob(service, a);
    await service.close();
    ({ service, eviction } = await openBounded(root, MiB, 16 * KiB));
    await putBlob(service, pseudoRandomBytes(300 * KiB, 82));
    await putBlob(service, pseudoRandomBytes(300 * KiB, 83));
    await eviction.settle();
    expect(await service.has(b)).toBe(false);
    expect(await service.has(a)).toBe(true);
    await service.close();
  });

  it("chunks a discarded writer left are deleted first when room is needed", async () => {
    const root = await tempRoot();
    const { service, eviction } = await openBounded(root, 400 * KiB, 16 * KiB);
    const kept = await putBlob(service, pseudoRandomBytes(200 * KiB, 90));
    const writer = await service.openWrite();
    await writer.write(pseudoRandomBytes(150 * KiB, 91));
    await writer.abort();
    const other = await putBlob(service, pseudoRandomBytes(150 * KiB, 92));
    await eviction.settle();
    // 500 KiB of objects in a 400 KiB store: the discarded chunks go, both blobs stay.
    expect(await service.has(kept)).toBe(true);
    expect(await service.has(other)).toBe(true);
    expect(await bytesOnDisk(root)).toBeLessThanOrEqual(400 * KiB);
    await service.close();
  });
});
