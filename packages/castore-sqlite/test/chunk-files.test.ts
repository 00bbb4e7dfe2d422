// Chunk bytes live in files beside the database, written once each: packs
// (blobs.sqlite-chunks/packs/UPLOAD.N) since schema version 6, a file per chunk
// (blobs.sqlite-chunks/HH/HEX.UPLOAD) before. The rows say which file holds a chunk, and nothing
// else is left in the directory.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import { type BlobService, digestOf, putBlob, readAll } from "castore-core";
import { pseudoRandomBytes, readBlob } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { openSqliteBlobService } from "../src/index.js";
import { CHUNK_FILE_MIN_BYTES } from "../src/store.js";
import { leaseTick, openWithHooks, settleEviction } from "../src/testing.js";
import { expectBytes } from "./support/bytes.js";
import { chunkFileOf, chunkFilePath, packFilePath } from "./support/corrupt.js";
import { CONSISTENT, countRows, withConnection } from "./support/inspect.js";
import { moveChunksOutOfPacks } from "./support/older-layouts.js";
import { tempFile } from "./support/temp.js";
import { writeThroughOneBuffer } from "./support/writes.js";

const MiB = 1 << 20;
/** Small chunks in packs too (see CHUNK_FILE_MIN_BYTES): quick tests with many chunks. */
const FILES_FOR_ALL = { chunkFileMinBytes: 0 };

/** Every chunk file and pack beside the database, as its path. */
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
  it("a chunked blob's bytes go into packs, each distinct chunk once, and not through SQLite's log", async () => {
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
    // 33 MiB in packs of about 8 MiB, each the pack of one of the two uploads that wrote new chunks.
    expect(files.every((path) => path.startsWith(join(`${file}-chunks`, "packs")))).toBe(true);
    expect(files.length).toBeGreaterThanOrEqual(5);
    expect(files.length).toBeLessThanOrEqual(7);
    expect(countRows(file)).toMatchObject(CONSISTENT);
    // The database and its log hold rows, not bytes: the old layout logged all 33 MiB, then
    // copied it into the database.
    expect(sizeOf(file) + sizeOf(`${file}-wal`)).toBeLessThan(stored / 2);
    expectBytes(await readBlob(service, digest), data);
    expectBytes(await readBlob(service, await digestOf(shared)), shared);
    await service.close();
  });

  it("a batch larger than the buffer it is staged in (chunks of several MiB) reaches its pack whole, from a reused buffer", async () => {
    // Chunks of 1–4 MiB: a batch outgrows the 1 MiB buffer it is staged in, at its first chunk
    // or its second (see PackWrites.append).
    const file = tempFile();
    const service = await openSqliteBlobService({ path: file, avgChunkSize: 2 * MiB });
    const data = pseudoRandomBytes(40 * MiB, 3);
    // Written through one buffer refilled after each write resolves: the pack writes that finish
    // later must have copied what they write.
    const digest = await writeThroughOneBuffer(service, data, new Uint8Array(3 * MiB));
    expect(digest.equals(await digestOf(data))).toBe(true);
    const chunks = await service.chunks(digest);
    expect(chunks?.length).toBeGreaterThanOrEqual(4);
    const files = chunkFiles(file);
    expect(files.reduce((sum, path) => sum + statSync(path).size, 0)).toBe(await service.storedBytes());
    expect(countRows(file)).toMatchObject(CONSISTENT);
    await service.close();
    // Read back by a fresh process's view of the files: every chunk verified against its digest.
    const reopened = await openSqliteBlobService(file);
    expectBytes(await readBlob(reopened, digest), data);
    await reopened.close();
  });

  it("writers storing the same new chunks at once keep one row per chunk, and leave no pack behind that none names", async () => {
    const file = tempFile();
    const service = await openWithHooks({ path: file, avgChunkSize: 4096 }, FILES_FOR_ALL);
    const shared = pseudoRandomBytes(MiB, 3);
    // Four blobs that share their first MiB, written in step 64 KiB at a time: each writer finds the
    // shared chunks missing when it pins them, most lose the race to insert their rows, and every
    // blob commits (so no writer's upload is released: a loser's copies are dead bytes in its pack,
    // and a pack of nothing but those goes when its writer commits).
    const blobs = [1, 2, 3, 4].map((i) => Buffer.concat([shared, pseudoRandomBytes(64 * 1024, 10 + i)]));
    const digests = await Promise.all(blobs.map((data) => putInPieces(service, data, 64 * 1024)));
    expect(countRows(file)).toMatchObject({ ...CONSISTENT, blobs: 4 });
    for (const [i, digest] of digests.entries()) expectBytes(await readBlob(service, digest), blobs[i] as Buffer);
    await service.close();
  });

  it("chunks under CHUNK_FILE_MIN_BYTES keep their bytes in their rows; larger ones go in packs", async () => {
    const file = tempFile();
    const service = await openSqliteBlobService({ path: file, avgChunkSize: 1024 });
    const small = pseudoRandomBytes(64 * 1024, 6);
    const smallDigest = await putBlob(service, small);
    expect(countRows(file).chunks).toBeGreaterThan(16);
    expect(chunkFiles(file)).toEqual([]);
    // The default chunks (128 KiB to 512 KiB) all go in packs.
    await service.close();
    const big = await openSqliteBlobService(file);
    const data = pseudoRandomBytes(4 * MiB, 7);
    await putBlob(big, data);
    expect(chunkFiles(file).length).toBe(1);
    const sizes = withConnection(file, (db) =>
      db.prepare<[], [number, number]>("SELECT coalesce(size, length(data)), pack IS NOT NULL FROM chunks").raw().all(),
    );
    expect(sizes.filter(([, packed]) => packed).length).toBeGreaterThanOrEqual(4);
    for (const [size, packed] of sizes) expect(packed === 1).toBe(size >= CHUNK_FILE_MIN_BYTES);
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

  /** The digest of the store's blob's sixth chunk (seq 5) and the file holding it: what the two tests below move. */
  function sixthChunk(file: string): { chunk: Buffer; before: string } {
    const chunk = withConnection(file, (db) =>
      db.prepare<[], Buffer>("SELECT chunk FROM blob_chunks WHERE seq = 5").pluck().get(),
    ) as Buffer;
    return { chunk, before: chunkFileOf(file, chunk) as string };
  }

  // Chunks of 1 KiB are read on the reader's thread; of 64 KiB and more, by a worker thread, into
  // a buffer whose memory moves there (and, the pack being gone, does not come back).
  it.each([
    ["1 KiB", 1024, 64 * 1024],
    ["256 KiB", 256 * 1024, 4 << 20],
  ])(
    "a reader finds chunks of %s stored again in another pack after it opened (the pack it knew is gone)",
    async (_name, avgChunkSize, length) => {
      const file = tempFile();
      const service = await openWithHooks({ path: file, avgChunkSize }, FILES_FOR_ALL);
      const data = pseudoRandomBytes(length, 5);
      const digest = await putBlob(service, data);
      const reader = await service.openRead(digest);
      if (!reader) throw new Error("blob missing");
      // What another process does when it deletes the chunks and stores them again: a new upload, a new pack.
      const { before } = sixthChunk(file);
      const after = packFilePath(file, 1_000_000, 0);
      writeFileSync(after, readFileSync(before));
      withConnection(file, (db) => {
        db.exec("INSERT INTO packs (upload, pack) VALUES (1000000, 0)");
        db.exec("UPDATE chunks SET upload = 1000000, pack = 0 WHERE pack IS NOT NULL");
        db.exec("DELETE FROM packs WHERE upload <> 1000000");
      });
      rmSync(before);
      expectBytes(await readAll(reader), data);
      await service.close();
      expect(countRows(file)).toMatchObject(CONSISTENT);
    },
  );

  it("a reader finds a chunk stored again in a file of its own after it opened (the file it knew is gone)", async () => {
    const file = tempFile();
    let service = await openWithHooks({ path: file, avgChunkSize: 1024 }, FILES_FOR_ALL);
    const data = pseudoRandomBytes(64 * 1024, 5);
    const digest = await putBlob(service, data);
    await service.close();
    // Files of their own, as versions 4 and 5 wrote them.
    moveChunksOutOfPacks(file);
    service = await openWithHooks({ path: file, avgChunkSize: 1024 }, FILES_FOR_ALL);
    const reader = await service.openRead(digest);
    if (!reader) throw new Error("blob missing");
    // What another process does when it deletes a chunk and stores it again: a new upload, a new file.
    const { chunk, before } = sixthChunk(file);
    const after = chunkFilePath(file, chunk, 1_000_000);
    writeFileSync(after, readFileSync(before));
    withConnection(file, (db) => db.prepare("UPDATE chunks SET upload = 1000000 WHERE digest = ?").run(chunk));
    rmSync(before);
    expectBytes(await readAll(reader), data);
    await service.close();
  });

  it("a pack stays while any row names it, and goes with the last", async () => {
    const file = tempFile();
    const service = await openSqliteBlobService({ path: file, maxSize: 4 * MiB });
    const packs = () => chunkFiles(file).map((path) => path.slice(path.lastIndexOf("/") + 1));
    const [x, y, z] = [1, 2, 3].map((seed) => pseudoRandomBytes(MiB, 20 + seed)) as [Buffer, Buffer, Buffer];
    // B shares A's first MiB: its chunks stay in A's pack, B's own pack holds only Z.
    const a = Buffer.concat([x, y]);
    const b = Buffer.concat([x, z]);
    const aDigest = await putBlob(service, a);
    const [packOfA] = packs();
    const bDigest = await putBlob(service, b);
    expect(packs().length).toBe(2);
    // A third blob of 2 MiB takes the store to 5 MiB: A (the least recently used) is evicted, and
    // with it Y; X, which B lists, keeps A's pack.
    const c = pseudoRandomBytes(2 * MiB, 24);
    const cDigest = await putBlob(service, c);
    await settleEviction(service);
    expect(await service.has(aDigest)).toBe(false);
    expect(packs()).toContain(packOfA);
    expectBytes(await readBlob(service, bDigest), b);
    expect(countRows(file)).toMatchObject(CONSISTENT);
    // Read after B (a read is a use): the fourth blob pushes B out, X and Z go, and both packs with them.
    expectBytes(await readBlob(service, cDigest), c);
    await putBlob(service, pseudoRandomBytes(2 * MiB, 25));
    await settleEviction(service);
    expect(await service.has(bDigest)).toBe(false);
    expect(packs()).not.toContain(packOfA);
    expect(packs().length).toBe(2);
    expect(countRows(file)).toMatchObject(CONSISTENT);
    await service.close();
  });

  it("the first lease tick deletes packs no row declares and no upload may yet declare, and keeps the others", async () => {
    const file = tempFile();
    await (await openSqliteBlobService(file)).close();
    const packDir = join(`${file}-chunks`, "packs");
    mkdirSync(packDir, { recursive: true });
    // A writer on another host whose lease runs (it may yet declare packs), and a declared pack of a gone upload.
    const live = withConnection(file, (db) => {
      db.exec("INSERT INTO packs (upload, pack) VALUES (50, 0)");
      return Number(
        db
          .prepare("INSERT INTO uploads (host, pid, process_token, renewed_at) VALUES ('elsewhere', 1, 'x', ?)")
          .run(Date.now()).lastInsertRowid,
      );
    });
    const kept = [packFilePath(file, 50, 0), packFilePath(file, live, 3)];
    // What a reclaimed writer killed before it declared its pack again leaves: no row knows it.
    const stray = packFilePath(file, live + 1000, 0);
    for (const path of [...kept, stray]) writeFileSync(path, "bytes");
    writeFileSync(join(packDir, "not-a-pack"), "left alone");

    const service = await openWithHooks({ path: file }, { leaseTimer: false });
    // Not at open: a short-lived command never lists the packs.
    expect(existsSync(stray)).toBe(true);
    await leaseTick(service);
    expect(existsSync(stray)).toBe(false);
    expect(kept.filter((path) => existsSync(path))).toEqual(kept);
    expect(existsSync(join(packDir, "not-a-pack"))).toBe(true);
    await service.close();
  });

  it("an upgraded store's writer that died before the upgrade has its own chunk files deleted with its rows", async () => {
    const file = tempFile();
    const service = await openWithHooks({ path: file, avgChunkSize: 1024 }, FILES_FOR_ALL);
    await putBlob(service, pseudoRandomBytes(16 * 1024, 30));
    await service.close();
    moveChunksOutOfPacks(file, { dropPackColumns: true });
    // A version-5 writer on this host, now dead, that wrote a chunk's file before its row.
    const digest = Buffer.alloc(32, 0x5e);
    const leftover = withConnection(file, (db) => {
      const id = Number(
        db
          .prepare("INSERT INTO uploads (host, pid, process_token, renewed_at) VALUES (?, ?, 'gone', 0)")
          .run(hostname(), process.pid).lastInsertRowid,
      );
      db.prepare("INSERT INTO upload_chunks (upload, seq, chunk, size) VALUES (?, 0, ?, 5)").run(id, digest);
      return chunkFilePath(file, digest, id);
    });
    mkdirSync(dirname(leftover), { recursive: true });
    writeFileSync(leftover, "bytes");

    const upgraded = await openSqliteBlobService(file);
    expect(existsSync(leftover)).toBe(false);
    expect(countRows(file)).toMatchObject(CONSISTENT);
    await upgraded.close();
  });

  it("packs a killed process marked for deletion are deleted by the next open", async () => {
    const file = tempFile();
    await (await openSqliteBlobService(file)).close();
    // What a process killed between a deletion's commit and the removal of the pack leaves.
    const leftover = packFilePath(file, 7, 0);
    mkdirSync(join(`${file}-chunks`, "packs"), { recursive: true });
    writeFileSync(leftover, "stale bytes");
    withConnection(file, (db) => db.exec("INSERT INTO packs (upload, pack, deleting) VALUES (7, 0, 1)"));

    const service = await openSqliteBlobService(file);
    expect(existsSync(leftover)).toBe(false);
    expect(withConnection(file, (db) => db.prepare<[], number>("SELECT count(*) FROM packs").pluck().get())).toBe(0);
    await service.close();
  });

  it("chunks kept in their rows (a store from before chunk files) read back and are shared by new blobs", async () => {
    const file = tempFile();
    let service = await openWithHooks({ path: file, avgChunkSize: 4096 }, FILES_FOR_ALL);
    const old = pseudoRandomBytes(256 * 1024, 4);
    const oldDigest = await putBlob(service, old);
    await service.close();
    // Move every chunk's bytes into its row, as a version-3 store kept them.
    moveChunksOutOfPacks(file);
    withConnection(file, (db) => {
      const rows = db.prepare<[], [Buffer]>("SELECT digest FROM chunks").raw().all();
      for (const [chunk] of rows) {
        const path = chunkFileOf(file, chunk) as string;
        db.prepare("UPDATE chunks SET data = ?, size = NULL, upload = NULL WHERE digest = ?").run(
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
