import { existsSync, readFileSync, writeFileSync } from "node:fs";
import Database from "better-sqlite3";
import { HELLOWORLD, pseudoRandomBytes, put, readBlob } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { openSqliteBlobService, SCHEMA_VERSION } from "../src/index.js";
import { expectBytes } from "./support/bytes.js";
import { CONSISTENT, countRows, storedDigests, withConnection } from "./support/inspect.js";
import { moveChunksOutOfPacks } from "./support/older-layouts.js";
import { tempFile } from "./support/temp.js";

function pragmas(file: string) {
  const db = new Database(file, { readonly: true });
  try {
    const get = (name: string) => db.pragma(name, { simple: true });
    return {
      pageSize: get("page_size"),
      journalMode: get("journal_mode"),
      userVersion: get("user_version"),
      applicationId: get("application_id"),
    };
  } finally {
    db.close();
  }
}

describe("the store file", () => {
  it("is created with 4 KiB pages, in WAL mode, with the castore schema version recorded", async () => {
    const file = tempFile();
    const service = await openSqliteBlobService(file);
    await put(service, HELLOWORLD.data);
    await service.close();
    expect(pragmas(file)).toEqual({
      pageSize: 4096,
      journalMode: "wal",
      userVersion: SCHEMA_VERSION,
      applicationId: 0x63415354,
    });
  });

  it("a file of an unknown (newer) schema version is refused with a clear error, untouched", async () => {
    const file = tempFile();
    await (await openSqliteBlobService(file)).close();
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const before = readFileSync(file);

    const error = await openSqliteBlobService(file).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "Unsupported" });
    expect(String(error)).toContain(`schema version ${SCHEMA_VERSION + 1}`);
    expect(String(error)).toContain("upgrade castore-sqlite");
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it("another application's SQLite database is refused, untouched", async () => {
    const file = tempFile();
    const db = new Database(file);
    db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('keep me')");
    db.close();
    const before = readFileSync(file);

    const error = await openSqliteBlobService(file).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "Backend" });
    expect(String(error)).toContain("is not a castore blob store");
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it("a file that is not SQLite at all is a Backend error, untouched", async () => {
    const file = tempFile();
    writeFileSync(file, "these are not the bytes of a database, but a text file of some length ".repeat(20));
    const before = readFileSync(file);
    const error = await openSqliteBlobService(file).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "Backend" });
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it("an empty existing file becomes a store", async () => {
    const file = tempFile();
    writeFileSync(file, "");
    const service = await openSqliteBlobService(file);
    await put(service, HELLOWORLD.data);
    expectBytes(await readBlob(service, HELLOWORLD.digest), HELLOWORLD.data);
    await service.close();
    expect(pragmas(file).pageSize).toBe(4096);
  });

  it("two services on one file in one process see each other's blobs", async () => {
    const file = tempFile();
    const [a, b] = await Promise.all([openSqliteBlobService(file), openSqliteBlobService(file)]);
    await put(a, HELLOWORLD.data);
    expectBytes(await readBlob(b, HELLOWORLD.digest), HELLOWORLD.data);
    await a.close();
    await b.close();
  });

  it("a read-only open of a missing file is an InvalidArgument error naming the file, and creates nothing", async () => {
    const file = tempFile();
    const error = await openSqliteBlobService({ path: file, readonly: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "InvalidArgument" });
    expect(String(error)).toContain(`cannot open ${file} read-only: the file does not exist`);
    expect(existsSync(file)).toBe(false);
  });

  it("bad options are InvalidArgument errors", async () => {
    for (const options of [
      { avgChunkSize: 0 },
      { avgChunkSize: 1.5 },
      { avgChunkSize: 511 },
      { avgChunkSize: 4 << 20 },
      { busyTimeout: -1 },
      { synchronous: "off" as "full" },
      { path: "/" },
      { path: "/tmp/a\0b.sqlite" },
    ]) {
      await expect(openSqliteBlobService(options), JSON.stringify(options)).rejects.toMatchObject({
        code: "InvalidArgument",
      });
    }
  });
});

describe("upgrading a version-4 store", () => {
  it("adds the seal column: old chunked blobs read as before (unsealed), new ones are sealed", async () => {
    const file = tempFile();
    const old = pseudoRandomBytes(64 * 1024, 41);
    let service = await openSqliteBlobService({ path: file, avgChunkSize: 1024 });
    const oldDigest = await put(service, old);
    await service.close();
    // The version-4 layout: a file per chunk, the tables without the seal column.
    moveChunksOutOfPacks(file, { dropPackColumns: true });
    const db = new Database(file);
    db.exec("ALTER TABLE blobs DROP COLUMN chunk_list_seal");
    db.pragma("user_version = 4");
    db.close();

    service = await openSqliteBlobService({ path: file, avgChunkSize: 1024 });
    expect(pragmas(file).userVersion).toBe(SCHEMA_VERSION);
    expectBytes(await readBlob(service, oldDigest), old);
    const fresh = pseudoRandomBytes(64 * 1024, 42);
    const freshDigest = await put(service, fresh);
    expectBytes(await readBlob(service, freshDigest), fresh);
    await service.close();
    const check = new Database(file, { readonly: true });
    const sealLength = check.prepare<[Uint8Array], number | null>(
      "SELECT length(chunk_list_seal) FROM blobs WHERE digest = ?",
    );
    expect(sealLength.pluck().get(oldDigest.unsafeBytes)).toBeNull();
    expect(sealLength.pluck().get(freshDigest.unsafeBytes)).toBe(32);
    check.close();
  });
});

describe("upgrading a version-5 store", () => {
  it("adds packs: chunks in files of their own read as before, new chunks go in packs, and old files are deleted with their rows", async () => {
    const file = tempFile();
    const old = pseudoRandomBytes(2 << 20, 51);
    let service = await openSqliteBlobService(file);
    const oldDigest = await put(service, old);
    await service.close();
    moveChunksOutOfPacks(file, { dropPackColumns: true });
    expect(pragmas(file).userVersion).toBe(5);
    expect(countRows(file)).toMatchObject(CONSISTENT);

    // Bounded, so that storing more than the bound evicts the old blob (and deletes its files).
    service = await openSqliteBlobService({ path: file, maxSize: 3 << 20 });
    expect(pragmas(file).userVersion).toBe(SCHEMA_VERSION);
    expectBytes(await readBlob(service, oldDigest), old);
    // A blob that shares the old one's first MiB: the shared chunks stay in their files, the rest go in a pack.
    const grown = Buffer.concat([old.subarray(0, 1 << 20), pseudoRandomBytes(1 << 20, 52)]);
    const grownDigest = await put(service, grown);
    expectBytes(await readBlob(service, grownDigest), grown);
    const packed = () =>
      withConnection(file, (db) =>
        db.prepare<[], number>("SELECT count(*) FROM chunks WHERE pack IS NOT NULL").pluck().get(),
      );
    expect(packed()).toBeGreaterThan(0);
    expect(countRows(file)).toMatchObject(CONSISTENT);
    // Push the old blob out: its chunks no other blob lists go, with their files.
    await put(service, pseudoRandomBytes(2 << 20, 53));
    await service.close();
    expect(storedDigests(file)).not.toContain(oldDigest.toHex());
    expect(countRows(file)).toMatchObject(CONSISTENT);
  });
});
