// A new store (its file and its chunk files) is private whatever the umask; an existing file keeps
// the mode its owner gave it.
import { chmodSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { putBlob } from "castore-core";
import { HELLOWORLD, pseudoRandomBytes, put, readBlob } from "castore-fixtures";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqliteBlobService } from "../src/index.js";
import { openWithHooks } from "../src/testing.js";
import { expectBytes } from "./support/bytes.js";
import { tempFile } from "./support/temp.js";

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe("file permissions", () => {
  let umask: number;
  beforeEach(() => {
    // The most permissive umask: whatever is private below is so by the store's doing.
    umask = process.umask(0o000);
  });
  afterEach(() => {
    process.umask(umask);
  });

  it("a new store file and its -wal and -shm files are 0600 under umask 000", async () => {
    const file = tempFile();
    const service = await openSqliteBlobService(file);
    await put(service, HELLOWORLD.data);
    // While the store is open its write-ahead log and shared-memory index exist beside it.
    expect([modeOf(file), modeOf(`${file}-wal`), modeOf(`${file}-shm`)]).toEqual([0o600, 0o600, 0o600]);
    await service.close();
    expect(modeOf(file)).toBe(0o600);
  });

  it("a new store file is 0600 under a umask that would take the owner's write bit", async () => {
    process.umask(0o277);
    const file = tempFile();
    const service = await openSqliteBlobService(file);
    await put(service, HELLOWORLD.data);
    await service.close();
    expect(modeOf(file)).toBe(0o600);
  });

  it.each([
    [0o000, 0o600, 0o700],
    // The owner keeps what it needs to read its chunks back; nobody else gets anything.
    [0o277, 0o400, 0o700],
  ])("chunk files and their directories are private under umask %o", async (mask, fileMode, dirMode) => {
    process.umask(mask);
    const file = tempFile();
    const service = await openWithHooks(
      { path: file, avgChunkSize: 1024 },
      { chunkFileMinBytes: 0, packBytes: 16 * 1024 },
    );
    const data = pseudoRandomBytes(64 * 1024, 1);
    const digest = await putBlob(service, data);
    const root = `${file}-chunks`;
    const dirs = readdirSync(root).map((name) => join(root, name));
    const files = dirs.flatMap((dir) => readdirSync(dir).map((name) => join(dir, name)));
    expect(files.length).toBeGreaterThan(1);
    expect(new Set([root, ...dirs].map(modeOf))).toEqual(new Set([dirMode]));
    expect(new Set(files.map(modeOf))).toEqual(new Set([fileMode]));
    expectBytes(await readBlob(service, digest), data);
    await service.close();
  });

  it("a temporary store's file is 0600", async () => {
    const service = await openSqliteBlobService();
    await put(service, HELLOWORLD.data);
    expect(modeOf(service.file)).toBe(0o600);
    await service.close();
  });

  it.each([
    ["an empty file", 0o644, false],
    ["a store", 0o640, true],
  ])("the mode of an existing file (%s) is left alone", async (_, mode, isStore) => {
    const file = tempFile();
    if (isStore) await (await openSqliteBlobService(file)).close();
    else writeFileSync(file, "");
    chmodSync(file, mode);
    const service = await openSqliteBlobService(file);
    await put(service, HELLOWORLD.data);
    expect(modeOf(file)).toBe(mode);
    await service.close();
    expect(modeOf(file)).toBe(mode);
  });
});
