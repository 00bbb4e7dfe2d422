// Chunk bytes live in files beside the database (blobs.sqlite-chunks/HH/HEX.UPLOAD), written once
// each: the rows say which file holds a chunk, and nothing else is left in the directory.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { type BlobService, digestOf, putBlob, readAll } from "castore-core";
import { pseudoRandomBytes, readBlob } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { openSqliteBlobService } from "../src/index.js";
import { CHUNK_FILE_MIN_BYTES } from "../src/store.js";
import { leaseTick, openWithHooks } from "../src/testing.js";
import { expectBytes } from "./support/bytes.js";
import { chunkFileOf, chunkFilePath } from "./support/corrupt.js";
import { CONSISTENT, countRows, withConnection } from "./support/inspect.js";
import { tempFile } from "./support/temp.js";

const MiB = 1 << 20;
/** Small chunks in files too (see CHUNK_FILE_MIN_BYTES): quick tests of many chunk files. */
const FILES_FOR_ALL = { chunkFileMinBytes: 0 };

/** Every chunk file beside the database, as its path. */
function chunkFiles(file: string): string[] {
  const root = `${file}-chunks`;
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((dir) => readdirSync(join(root, dir)).map((name) => join(root, dir, name)));
}

const sizeOf = (path: string) => (existsSync(path) ? statSync(path).size : 0);

async function putInPieces(service: BlobService, data: Uint8Array, piece: number) {
  const writer = await service.openWrite();
  for (let at = 0; at < data.length; at += piece) await writer.write(data.subarray(at, at + piece));
  return writer.close();
}

describe("chunk files", () => {
  it("a chunked blob's bytes go to one file per distinct chunk, once, and not through SQLite's log", async () => {
    const file = tempFile();
    const service = await openSqliteBlobService(file);
    const data = pseudoRandomBytes(32 * MiB, 1);
    const digest = await putBlob(service, data);
    // The same bytes again, and a blob that shares most of them: no chunk is written twice.
    await putBlob(service, data);
    const shared = Buffer.concat([data.subarray(0, 16 * MiB), pseudoRandomBytes(MiB, 2)]);
    await putBlob(service, shared);

    const files = chunkFiles(file);
    const stored = await service.storedBytes();
    expect(files.reduce((sum, path) => sum + statSync(path).size, 0)).toBe(stored);
    expect(files.length).toBe(countRows(file).chunks);
    expect(countRows(file)).toMatchObject(CONSISTENT);
    // The database and its log hold rows, not bytes: the old layout logged all 33 MiB, then
    // copied it into the database.
    expect(sizeOf(file) + sizeOf(`${file}-wal`)).toBeLessThan(stored / 2);
    expectBytes(await readBlob(service, digest), data);
    expectBytes(await readBlob(service, await digestOf(shared)), shared);
    await service.close();
  });

  it("writers storing the same new chunks at once keep one file per chunk, and leave none behind", async () => {
    const file = tempFile();
    const service = await openWithHooks({ path: file, avgChunkSize: 4096 }, FILES_FOR_ALL);
    const shared = pseudoRandomBytes(MiB, 3);
    // Four blobs that share their first MiB, written in step 64 KiB at a time: each writer finds the
    // shared chunks missing when it pins them, most lose the race to insert their rows, and every
    // blob commits (so no writer's upload is released: the losers delete their own files).
    const blobs = [1, 2, 3, 4].map((i) => Buffer.concat([shared, pseudoRandomBytes(64 * 1024, 10 + i)]));
    const digests = await Promise.all(blobs.map((data) => putInPieces(service, data, 64 * 1024)));
    expect(countRows(file)).toMatchObject({ ...CONSISTENT, blobs: 4 });
    expect(chunkFiles(file).length).toBe(countRows(file).chunks);
    for (const [i, digest] of digests.entries()) expectBytes(await readBlob(service, digest), blobs[i] as Buffer);
    await service.close();
  });

  it("chunks under CHUNK_FILE_MIN_BYTES keep their bytes in their rows; larger ones get files", async () => {
    const file = tempFile();
    const service = await openSqliteBlobService({ path: file, avgChunkSize: 1024 });
    const small = pseudoRandomBytes(64 * 1024, 6);
    const smallDigest = await putBlob(service, small);
    expect(countRows(file).chunks).toBeGreaterThan(16);
    expect(chunkFiles(file)).toEqual([]);
    // The default chunks (128 KiB to 512 KiB) all get files.
    await service.close();
    const big = await openSqliteBlobService(file);
    const data = pseudoRandomBytes(4 * MiB, 7);
    await putBlob(big, data);
    expect(chunkFiles(file).length).toBeGreaterThanOrEqual(4);
    expect(chunkFiles(file).every((path) => statSync(path).size >= CHUNK_FILE_MIN_BYTES)).toBe(true);
    expect(countRows(file)).toMatchObject(CONSISTENT);
    expectBytes(await readBlob(big, smallDigest), small);
    expectBytes(await readBlob(big, await digestOf(data)), data);
    await big.close();
  });

  it("chunk files a killed process listed for deletion are deleted by the next open", async () => {
    const file = tempFile();
    await (await openSqliteBlobService(file)).close();
    // What a process killed between a deletion's commit and the removal of the files leaves.
    const digest = new Uint8Array(32).fill(0xab);
    const leftover = chunkFilePath(file, digest, 7);
    mkdirSync(join(`${file}-chunks`, "ab"), { recursive: true });
    writeFileSync(leftover, "stale bytes");
    withConnection(file, (db) =>
      db.prepare("INSERT INTO chunk_files_to_delete (digest, file) VALUES (?, 7)").run(digest),
    );

    const service = await openSqliteBlobService(file);
    expect(existsSync(leftover)).toBe(false);
    const listed = withConnection(file, (db) =>
      db.prepare<[], number>("SELECT count(*) FROM chunk_files_to_delete").pluck().get(),
    );
    expect(listed).toBe(0);
    await service.close();
  });

  it("a list of deletions it cannot clear (the database busy) is left for the next pass, not retried at once", async () => {
    const file = tempFile();
    await (await openSqliteBlobService(file)).close();
    // More than one pass's worth (256) of leftovers.
    const leftovers = Array.from({ length: 300 }, (_, i) => {
      const digest = new Uint8Array(32).fill(i % 256);
      digest[1] = i >> 8;
      return { digest, path: chunkFilePath(file, digest, 9) };
    });
    for (const { digest, path } of leftovers) {
      mkdirSync(join(`${file}-chunks`, Buffer.from(digest.subarray(0, 1)).toString("hex")), { recursive: true });
      writeFileSync(path, "stale");
      withConnection(file, (db) =>
        db.prepare("INSERT INTO chunk_files_to_delete (digest, file) VALUES (?, 9)").run(digest),
      );
    }
    const listed = () =>
      withConnection(file, (db) => db.prepare<[], number>("SELECT count(*) FROM chunk_files_to_delete").pluck().get());
    // Another connection holds the write lock: the open deletes one pass of files, cannot take
    // them off the list, and goes on (before, it went round the same entries for ever).
    const lock = new Database(file);
    lock.exec("BEGIN IMMEDIATE");
    const service = await openSqliteBlobService({ path: file, busyTimeout: 20 });
    expect(leftovers.filter(({ path }) => existsSync(path)).length).toBe(300 - 256);
    lock.exec("ROLLBACK");
    lock.close();
    expect(listed()).toBe(300);
    await leaseTick(service);
    expect(listed()).toBe(0);
    expect(leftovers.filter(({ path }) => existsSync(path))).toEqual([]);
    await service.close();
  });

  it("a reader finds a chunk stored again under another file after it opened (the file it knew is gone)", async () => {
    const file = tempFile();
    const service = await openWithHooks({ path: file, avgChunkSize: 1024 }, FILES_FOR_ALL);
    const data = pseudoRandomBytes(64 * 1024, 5);
    const digest = await putBlob(service, data);
    const reader = await service.openRead(digest);
    if (!reader) throw new Error("blob missing");
    // What another process does when it deletes a chunk and stores it again: a new upload, a new file.
    const chunk = withConnection(file, (db) =>
      db.prepare<[], Buffer>("SELECT chunk FROM blob_chunks WHERE seq = 5").pluck().get(),
    ) as Buffer;
    const before = chunkFileOf(file, chunk) as string;
    const after = chunkFilePath(file, chunk, 1_000_000);
    writeFileSync(after, readFileSync(before));
    withConnection(file, (db) => db.prepare("UPDATE chunks SET file = 1000000 WHERE digest = ?").run(chunk));
    rmSync(before);
    expectBytes(await readAll(reader), data);
    await service.close();
  });

  it("chunks kept in their rows (a store from before chunk files) read back and are shared by new blobs", async () => {
    const file = tempFile();
    let service = await openWithHooks({ path: file, avgChunkSize: 4096 }, FILES_FOR_ALL);
    const old = pseudoRandomBytes(256 * 1024, 4);
    const oldDigest = await putBlob(service, old);
    await service.close();
    // Move every chunk's bytes into its row, as a version-3 store kept them.
    withConnection(file, (db) => {
      const rows = db.prepare<[], [Buffer]>("SELECT digest FROM chunks").raw().all();
      for (const [chunk] of rows) {
        const path = chunkFileOf(file, chunk) as string;
        db.prepare("UPDATE chunks SET data = ?, size = NULL, file = NULL WHERE digest = ?").run(
          readFileSync(path),
          chunk,
        );
        rmSync(path);
      }
    });
    expect(chunkFiles(file)).toEqual([]);

    service = await openWithHooks({ path: file, avgChunkSize: 4096 }, FILES_FOR_ALL);
    expectBytes(await readBlob(service, oldDigest), old);
    // A new blob that starts with the old one's bytes shares its chunks: only the new ones get files.
    const grown = Buffer.concat([old, pseudoRandomBytes(64 * 1024, 5)]);
    const grownDigest = await putBlob(service, grown);
    expectBytes(await readBlob(service, grownDigest), grown);
    expect(countRows(file)).toMatchObject(CONSISTENT);
    expect(chunkFiles(file).length).toBeGreaterThan(0);
    expect(chunkFiles(file).length).toBeLessThan(countRows(file).chunks);
    await service.close();
  });
});
