// A store opened with maxSize keeps its stored bytes within the bound by evicting the least
// recently used blobs, with their unshared chunks, in the background; never a blob an open reader
// is reading, never the blob just written or read, never a chunk another blob uses.
import { statSync } from "node:fs";
import { type B3Digest, putBlob } from "castore-core";
import { pseudoRandomBytes, readBlob, readExact, readToEnd } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { openSqliteBlobService, type SqliteBlobService, sqliteBackend } from "../src/index.js";
import { settleEviction } from "../src/testing.js";
import { expectBytes } from "./support/bytes.js";
import { CONSISTENT, countRows } from "./support/inspect.js";
import { tempFile } from "./support/temp.js";

const KiB = 1024;
const MiB = 1024 * KiB;

async function open(maxSize: number, avgChunkSize: number, path = tempFile()): Promise<SqliteBlobService> {
  return openSqliteBlobService({ path, maxSize, avgChunkSize, synchronous: "normal" });
}

describe("maxSize: the option", () => {
  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60, "1000", null])(
    "%s is refused with an InvalidArgument error naming maxSize, and no file is created",
    async (maxSize) => {
      const path = tempFile();
      await expect(openSqliteBlobService({ path, maxSize: maxSize as number })).rejects.toMatchObject({
        code: "InvalidArgument",
        message: expect.stringContaining("maxSize must be a positive integer, got "),
      });
      expect(() => statSync(path)).toThrow();
    },
  );

  it("is refused on a read-only store, which cannot evict", async () => {
    const path = tempFile();
    await (await openSqliteBlobService(path)).close();
    await expect(openSqliteBlobService({ path, readonly: true, maxSize: MiB })).rejects.toMatchObject({
      code: "InvalidArgument",
      message: expect.stringContaining("maxSize needs a writable store"),
    });
  });

  it.each(["0", "-5", "abc", "1e6", "99999999999999999999"])(
    "max_size=%s in an address is an InvalidAddress error naming max_size",
    async (value) => {
      const url = new URL(`sqlite://${tempFile()}?max_size=${value}`);
      await expect(sqliteBackend.open(url)).rejects.toMatchObject({
        code: "InvalidAddress",
        message: expect.stringContaining('for option "max_size"'),
      });
    },
  );

  it("max_size in an address bounds the store", async () => {
    const service = (await sqliteBackend.open(
      new URL(`sqlite://${tempFile()}?max_size=${4 * MiB}`),
    )) as SqliteBlobService;
    expect(service.maxSize).toBe(4 * MiB);
    await service.close();
  });
});

describe("maxSize: eviction", () => {
  it("under 16× its bound in puts and reads, the store never exceeds the bound by more than one write window", async () => {
    // The figures are 64 MiB under 1 GiB; scaled down 4× (16 MiB under 256 MiB), same ratio,
    // to keep the test far from its timeout on a shared machine.
    const maxSize = 16 * MiB;
    const avgChunkSize = 256 * KiB;
    // A writer stores at most one batch (≤ 2 average chunks + 1 maximal chunk) past the bound.
    const window = 4 * avgChunkSize;
    const path = tempFile();
    const service = await open(maxSize, avgChunkSize, path);
    const written: { digest: B3Digest; seed: number; size: number }[] = [];
    let total = 0;
    let peak = 0;
    for (let seed = 1; total < 16 * maxSize; seed++) {
      const size = 64 * KiB + ((seed * 7919 * KiB) % (3 * MiB));
      const data = pseudoRandomBytes(size, seed);
      written.push({ digest: await putBlob(service, data), seed, size });
      total += size;
      peak = Math.max(peak, await service.storedBytes());
      // Reads of recent blobs: they are there, and right.
      if (seed % 4 === 0) {
        const recent = written[written.length - 3];
        if (recent) expectBytes(await readBlob(service, recent.digest), pseudoRandomBytes(recent.size, recent.seed));
      }
    }
    expect(peak).toBeLessThanOrEqual(maxSize + window);
    await settleEviction(service);
    expect(await service.storedBytes()).toBeLessThanOrEqual(maxSize);
    // The most recent blobs stay; the oldest are gone.
    const last = written[written.length - 1] as (typeof written)[number];
    expectBytes(await readBlob(service, last.digest), pseudoRandomBytes(last.size, last.seed));
    expect(await service.has((written[0] as (typeof written)[number]).digest)).toBe(false);
    await service.close();
    expect(countRows(path)).toMatchObject(CONSISTENT);
    // Freed pages are reused, not returned to the file system: the file stays near the bound.
    expect(statSync(path).size).toBeLessThan(2 * (maxSize + window));
    // 5 s alone, 25 s on a machine whose load is ten times its cores: far from this timeout.
  }, 600_000);

  it("evicts the least recently used blob first: a blob read lately survives older unread ones", async () => {
    const service = await open(MiB, 4 * KiB);
    const blobs = [1, 2, 3, 4, 5].map((seed) => pseudoRandomBytes(200 * KiB, seed));
    const digests: B3Digest[] = [];
    for (const data of blobs.slice(0, 4)) digests.push(await putBlob(service, data));
    // The oldest, read now, becomes the most recently used.
    expectBytes(await readBlob(service, digests[0] as B3Digest), blobs[0] as Uint8Array);
    digests.push(await putBlob(service, blobs[4] as Uint8Array));
    digests.push(await putBlob(service, pseudoRandomBytes(200 * KiB, 6)));
    await settleEviction(service);
    // 1200 KiB in a 1024 KiB store: exactly one blob goes, the least recently used (the second).
    expect(await service.has(digests[1] as B3Digest)).toBe(false);
    for (const i of [0, 2, 3, 4, 5]) expect(await service.has(digests[i] as B3Digest), `blob ${i}`).toBe(true);
    expect(await service.storedBytes()).toBeLessThanOrEqual(MiB);
    await service.close();
  });

  it("a blob being read is not evicted mid-read: the read completes with the right bytes, the blob goes after", async () => {
    const path = tempFile();
    const service = await open(MiB, 4 * KiB, path);
    const big = pseudoRandomBytes(600 * KiB, 10);
    const digest = await putBlob(service, big);
    const reader = await service.openRead(digest);
    if (!reader) throw new Error("just stored");
    const head = await readExact(reader, 100);
    // Three times the bound in other blobs: everything else turns over, the blob being read stays.
    const others: B3Digest[] = [];
    for (let seed = 11; seed < 21; seed++) others.push(await putBlob(service, pseudoRandomBytes(300 * KiB, seed)));
    await settleEviction(service);
    expect(await service.has(digest)).toBe(true);
    expect(await service.has(others[0] as B3Digest)).toBe(false);
    expect(countRows(path)).toMatchObject(CONSISTENT);
    const rest = await readToEnd(reader);
    expectBytes(Buffer.concat([head, rest]), big);
    await reader.close();
    // Closed, it is the least recently used blob, and the next overflow takes it.
    await putBlob(service, pseudoRandomBytes(300 * KiB, 30));
    await settleEviction(service);
    expect(await service.has(digest)).toBe(false);
    expect(await service.storedBytes()).toBeLessThanOrEqual(MiB);
    await service.close();
    expect(countRows(path)).toMatchObject(CONSISTENT);
  });

  it("a chunk shared with a blob that stays is never removed with an evicted one", async () => {
    const path = tempFile();
    const service = await open(256 * KiB, KiB, path);
    const first = pseudoRandomBytes(64 * KiB, 40);
    // The same first 48 KiB, then other bytes: most chunks are shared.
    const second = new Uint8Array(80 * KiB);
    second.set(first.subarray(0, 48 * KiB));
    second.set(pseudoRandomBytes(32 * KiB, 41), 48 * KiB);
    const firstDigest = await putBlob(service, first);
    const secondDigest = await putBlob(service, second);
    const firstChunks = new Set((await service.chunks(firstDigest))?.map((chunk) => chunk.digest.toHex()));
    const secondChunks = (await service.chunks(secondDigest)) ?? [];
    expect(secondChunks.filter((chunk) => firstChunks.has(chunk.digest.toHex())).length).toBeGreaterThan(10);
    // Fill the store until the first blob (the oldest) goes; the second is read meanwhile, so it stays.
    for (let seed = 42; (await service.has(firstDigest)) && seed < 60; seed++) {
      await readBlob(service, secondDigest);
      await putBlob(service, pseudoRandomBytes(60 * KiB, seed));
      await settleEviction(service);
    }
    expect(await service.has(firstDigest)).toBe(false);
    expectBytes(await readBlob(service, secondDigest), second);
    for (const chunk of secondChunks) expect(await service.has(chunk.digest)).toBe(true);
    await service.close();
    expect(countRows(path)).toMatchObject(CONSISTENT);
  });

  it("a blob evicted while a writer is writing the same bytes is fully there once that writer closes", async () => {
    const path = tempFile();
    const service = await open(512 * KiB, 4 * KiB, path);
    const data = pseudoRandomBytes(200 * KiB, 50);
    const digest = await putBlob(service, data);
    const writer = await service.openWrite();
    await writer.write(data);
    // The stored copy is the oldest blob: filling the store evicts it while the writer holds its chunks.
    for (let seed = 51; seed < 55; seed++) await putBlob(service, pseudoRandomBytes(150 * KiB, seed));
    await settleEviction(service);
    expect(await service.has(digest)).toBe(false);
    expect((await writer.close()).equals(digest)).toBe(true);
    expectBytes(await readBlob(service, digest), data);
    await settleEviction(service);
    expect(countRows(path)).toMatchObject(CONSISTENT);
    await service.close();
  });

  it("a writer that closes on a blob already stored makes it the most recently used: it is not evicted next", async () => {
    const service = await open(MiB, 4 * KiB);
    const data = pseudoRandomBytes(300 * KiB, 60);
    const digest = await putBlob(service, data);
    const second = await putBlob(service, pseudoRandomBytes(300 * KiB, 61));
    // Written again: now used after the second blob.
    expect((await putBlob(service, data)).equals(digest)).toBe(true);
    await putBlob(service, pseudoRandomBytes(300 * KiB, 62));
    await putBlob(service, pseudoRandomBytes(300 * KiB, 63));
    await settleEviction(service);
    expect(await service.has(second)).toBe(false);
    expectBytes(await readBlob(service, digest), data);
    await service.close();
  });

  it("the most recently used blob stays even when it alone exceeds the bound", async () => {
    const service = await open(256 * KiB, 4 * KiB);
    const small = await putBlob(service, pseudoRandomBytes(10 * KiB, 70));
    const huge = pseudoRandomBytes(MiB, 71);
    const digest = await putBlob(service, huge);
    await settleEviction(service);
    expect(await service.has(small)).toBe(false);
    expectBytes(await readBlob(service, digest), huge);
    await service.close();
  });

  it("uses survive a restart: a blob read before closing outlives older ones written after reopening", async () => {
    const path = tempFile();
    let service = await open(MiB, 4 * KiB, path);
    const a = await putBlob(service, pseudoRandomBytes(300 * KiB, 80));
    const b = await putBlob(service, pseudoRandomBytes(300 * KiB, 81));
    await readBlob(service, a);
    await service.close();
    service = await open(MiB, 4 * KiB, path);
    await putBlob(service, pseudoRandomBytes(300 * KiB, 82));
    await putBlob(service, pseudoRandomBytes(300 * KiB, 83));
    await settleEviction(service);
    expect(await service.has(b)).toBe(false);
    expect(await service.has(a)).toBe(true);
    await service.close();
  });

  it("a store reopened with a smaller bound evicts down to it at once, in the background", async () => {
    const path = tempFile();
    let service = await openSqliteBlobService({ path, avgChunkSize: 4 * KiB });
    for (let seed = 90; seed < 100; seed++) await putBlob(service, pseudoRandomBytes(100 * KiB, seed));
    await service.close();
    service = await open(250 * KiB, 4 * KiB, path);
    await settleEviction(service);
    expect(await service.storedBytes()).toBeLessThanOrEqual(250 * KiB);
    expect(await service.count()).toBe(2);
    await service.close();
    expect(countRows(path)).toMatchObject(CONSISTENT);
  });
});
