// Opening a schema-version-2 file upgrades it in place to the current version (3 added when each blob was
// last used): on the committed fixture written by the version-2 code, atomically, with every blob
// intact, its shared chunks still stored once, and its blobs evicted first by a bounded store.
import { copyFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { digestOf, putBlob } from "castore-core";
import { pseudoRandomBytes, readBlob } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { openSqliteBlobService, SCHEMA_VERSION } from "../src/index.js";
import { settleEviction } from "../src/testing.js";
import { AVG_CHUNK_SIZE, V2_BLOBS, v2BlobData } from "./fixtures/v2-store-plan.mjs";
import { expectBytes } from "./support/bytes.js";
import { countRows, withConnection } from "./support/inspect.js";
import { tempFile } from "./support/temp.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/v2-store.sqlite", import.meta.url));

function versionOf(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma("user_version", { simple: true }) as number;
  } finally {
    db.close();
  }
}

function fixtureCopy(): string {
  const file = tempFile();
  copyFileSync(FIXTURE, file);
  return file;
}

describe("upgrading a version-2 store", () => {
  it("the committed fixture opens as version 6 with every blob intact and a use row per blob", async () => {
    const file = fixtureCopy();
    expect(versionOf(file)).toBe(2);
    const before = countRows(file);
    expect(before.uploads).toBe(1);
    const service = await openSqliteBlobService({ path: file, avgChunkSize: AVG_CHUNK_SIZE });
    expect(versionOf(file)).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(6);
    expect(await service.count()).toBe(V2_BLOBS.length);
    for (const blob of V2_BLOBS) {
      const data = v2BlobData(blob);
      expectBytes(await readBlob(service, await digestOf(data)), data, blob.name);
    }
    // The dead writer's upload is reclaimed, and with it every chunk no blob lists.
    const after = countRows(file);
    expect(after).toMatchObject({ uploads: 0, orphanChunks: 0 });
    // Every upgraded blob is older than anything used since.
    const uses = withConnection(file, (db) =>
      db.prepare<[], [Buffer, number]>("SELECT blob, used_at FROM blob_use").raw().all(),
    );
    expect(uses.length).toBe(V2_BLOBS.length);
    for (const [, usedAt] of uses) expect(usedAt).toBe(0);
    await service.close();
  });

  it("a read-only open of a version-2 file is refused with a hint, and changes nothing", async () => {
    const file = fixtureCopy();
    await expect(openSqliteBlobService({ path: file, readonly: true })).rejects.toMatchObject({
      code: "Unsupported",
      message: expect.stringMatching(/version 2.*open it writable once to upgrade it/),
    });
    expect(versionOf(file)).toBe(2);
  });

  it("opened with a bound smaller than what it holds, it evicts at once, though every upgraded blob has the same use time", async () => {
    const file = fixtureCopy();
    const service = await openSqliteBlobService({ path: file, avgChunkSize: AVG_CHUNK_SIZE, maxSize: 90 * 1024 });
    await settleEviction(service);
    expect(await service.storedBytes()).toBeLessThanOrEqual(90 * 1024);
    expect(await service.count()).toBeLessThan(V2_BLOBS.length);
    expect(countRows(file)).toMatchObject({ uploads: 0, orphanChunks: 0, missingChunks: 0, unmatchedUses: 0 });
    await service.close();
  });

  it("a bounded store evicts the upgraded blobs before anything written after the upgrade", async () => {
    const file = fixtureCopy();
    const fresh = pseudoRandomBytes(96 * 1024, 7);
    // Room for the fresh blob and less than a KiB more: the upgraded chunked blobs must go (the
    // 700-byte one may fit beside it), the fresh one, used last, stays.
    const service = await openSqliteBlobService({ path: file, avgChunkSize: AVG_CHUNK_SIZE, maxSize: 100 * 1024 });
    const digest = await putBlob(service, fresh);
    await settleEviction(service);
    expect(await service.storedBytes()).toBeLessThanOrEqual(100 * 1024);
    expectBytes(await readBlob(service, digest), fresh);
    for (const blob of V2_BLOBS) {
      const data = v2BlobData(blob);
      if (data.length < 1024) continue;
      expect(await service.has(await digestOf(data)), blob.name).toBe(false);
    }
    expect(countRows(file)).toMatchObject({ uploads: 0, orphanChunks: 0 });
    await service.close();
  });
});
