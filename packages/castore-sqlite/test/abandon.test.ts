// An aborted writer's rows go even when SQLite is busy at that moment: the deletion is retried in
// the background, tried again on close, and finished by the next open of the file in this process.
import Database from "better-sqlite3";
import { pseudoRandomBytes } from "castore-fixtures";
import { describe, expect, it, vi } from "vitest";
import { openSqliteBlobService } from "../src/index.js";
import { CONSISTENT, countRows } from "./support/inspect.js";
import { tempFile } from "./support/temp.js";

const CHUNK = 4096;
const NO_ROWS = { ...CONSISTENT, blobs: 0, inlineBlobs: 0, chunks: 0 };

/** Holds the write lock from a second connection (as another process would) until released. */
function holdWriteLock(file: string): { release(): void } {
  const db = new Database(file);
  db.exec("BEGIN IMMEDIATE");
  return {
    release() {
      db.exec("ROLLBACK");
      db.close();
    },
  };
}

/** A service whose statements give up on a lock at once, with a writer that has stored chunk rows. */
async function writerWithRows() {
  const file = tempFile();
  const service = await openSqliteBlobService({ path: file, avgChunkSize: CHUNK, busyTimeout: 0 });
  const writer = await service.openWrite();
  await writer.write(pseudoRandomBytes(CHUNK * 40, 7));
  const held = countRows(file).chunks;
  expect(held).toBeGreaterThan(20);
  expect(countRows(file)).toMatchObject({ uploads: 1 });
  return { file, service, writer, held };
}

describe("abandoning uploads while the database is busy", () => {
  it("an abort that finds the database locked deletes the rows once the lock is gone", async () => {
    const { file, service, writer, held } = await writerWithRows();
    const lock = holdWriteLock(file);
    await writer.abort();
    // Nothing could be deleted while the lock was held...
    expect(countRows(file)).toMatchObject({ uploads: 1, chunks: held });
    lock.release();
    // ...and without any further call, the rows go soon after.
    await vi.waitFor(() => expect(countRows(file)).toEqual(NO_ROWS), { timeout: 5000, interval: 20 });
    await service.close();
  });

  it("closing the service deletes what an earlier abort could not", async () => {
    const { file, service, writer } = await writerWithRows();
    const lock = holdWriteLock(file);
    await writer.abort();
    lock.release();
    await service.close();
    expect(countRows(file)).toEqual(NO_ROWS);
  });

  it("what even close could not delete, the next open of the file in this process does", async () => {
    const { file, service, writer, held } = await writerWithRows();
    const lock = holdWriteLock(file);
    await writer.abort();
    await service.close();
    expect(countRows(file)).toMatchObject({ uploads: 1, chunks: held });
    lock.release();
    const again = await openSqliteBlobService({ path: file, avgChunkSize: CHUNK });
    expect(countRows(file)).toEqual(NO_ROWS);
    await again.close();
  });

  it("a live writer's rows survive another service's open while an abandoned one's go", async () => {
    const { file, service, writer } = await writerWithRows();
    const live = await service.openWrite();
    const data = pseudoRandomBytes(CHUNK * 12 + 5, 8);
    await live.write(data.subarray(0, CHUNK * 8));
    const lock = holdWriteLock(file);
    await writer.abort();
    lock.release();
    const second = await openSqliteBlobService({ path: file, avgChunkSize: CHUNK });
    expect(countRows(file)).toMatchObject({ uploads: 1, orphanChunks: 0 });
    await live.write(data.subarray(CHUNK * 8));
    const digest = await live.close();
    expect(await second.has(digest)).toBe(true);
    const chunks = (await second.chunks(digest))?.length;
    await second.close();
    await service.close();
    expect(countRows(file)).toMatchObject({ blobs: 1, uploads: 0, chunks, orphanChunks: 0 });
  });
});
