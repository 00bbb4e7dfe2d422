import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { BlobServiceRegistry, fromAddr, isInvalidAddress, register } from "castore-core";
import { BLOB_C, HELLOWORLD, put, readBlob } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { SqliteBlobService, sqliteBackend } from "../src/index.js";
import { isReleased } from "../src/testing.js";
import { expectBytes } from "./support/bytes.js";
import { tempDir, tempFile } from "./support/temp.js";

const registry = new BlobServiceRegistry([sqliteBackend]);

/** sqlite:// + an absolute path, percent-encoded the way URLs need. */
function addressOf(file: string, query = ""): string {
  return `sqlite://${pathToFileURL(file).pathname}${query}`;
}

async function openError(address: string): Promise<unknown> {
  return registry.open(address).then(
    async (service) => {
      await service.close();
      return undefined;
    },
    (error: unknown) => error,
  );
}

describe("sqlite:// addresses", () => {
  it("sqlite:// opens a temporary store that is deleted on close", async () => {
    const service = (await registry.open("sqlite://")) as SqliteBlobService;
    expect(service).toBeInstanceOf(SqliteBlobService);
    expect(existsSync(service.file)).toBe(true);
    await put(service, HELLOWORLD.data);
    expect(await service.has(HELLOWORLD.digest)).toBe(true);
    await service.close();
    expect(existsSync(dirname(service.file))).toBe(false);
    expect(isReleased(service)).toBe(true);
  });

  it("each temporary store is new and empty", async () => {
    const first = await registry.open("sqlite://");
    const second = await registry.open("sqlite://");
    await put(first, HELLOWORLD.data);
    expect(await second.has(HELLOWORLD.digest)).toBe(false);
    await first.close();
    await second.close();
  });

  it("a path names a durable store: what one service stores, a later one reads", async () => {
    const file = tempFile();
    const first = await registry.open(addressOf(file));
    await put(first, BLOB_C.data);
    await first.close();
    expect(existsSync(file)).toBe(true);
    const second = await registry.open(addressOf(file));
    expectBytes(await readBlob(second, BLOB_C.digest), BLOB_C.data);
    await second.close();
  });

  it("a percent-encoded path is decoded", async () => {
    const file = join(tempDir(), "my blobs ü.sqlite");
    const service = (await registry.open(addressOf(file))) as SqliteBlobService;
    expect(service.file).toBe(file);
    await service.close();
    expect(existsSync(file)).toBe(true);
  });

  it.each([
    ["sqlite:///", "the root directory"],
    ["sqlite://host/tmp/blobs.sqlite", "a host"],
    ["sqlite://user@/tmp/blobs.sqlite", "a user"],
    ["sqlite://localhost:1234/tmp/blobs.sqlite", "a host and port"],
    ["sqlite:///tmp/blobs.sqlite#x", "a fragment"],
  ])("%s is an InvalidAddress error (%s)", async (address) => {
    const error = await openError(address);
    expect(isInvalidAddress(error), String(error)).toBe(true);
  });

  it.each(["sqlite:rel.sqlite", "sqlite:./blobs.sqlite", "sqlite:dir/blobs.sqlite", "sqlite:rel%2Fblobs.sqlite"])(
    "%s (a relative path) is an InvalidAddress error and creates nothing in the working directory",
    async (address) => {
      const cwd = process.cwd();
      const dir = tempDir();
      mkdirSync(join(dir, "dir"));
      process.chdir(dir);
      try {
        const error = await openError(address);
        expect(isInvalidAddress(error), String(error)).toBe(true);
        expect(String(error)).toContain("relative");
        expect(String(error)).toContain("sqlite:///abs/path");
        expect(readdirSync(dir)).toEqual(["dir"]);
        expect(readdirSync(join(dir, "dir"))).toEqual([]);
      } finally {
        process.chdir(cwd);
      }
    },
  );

  it("sqlite:/abs/path (an absolute path without the empty host) is accepted", async () => {
    const file = tempFile();
    const service = (await registry.open(`sqlite:${pathToFileURL(file).pathname}`)) as SqliteBlobService;
    expect(service.file).toBe(file);
    await service.close();
  });

  it("a missing parent directory is an InvalidAddress error, and is not created", async () => {
    const missing = join(tempDir(), "not", "there");
    const error = await openError(addressOf(join(missing, "blobs.sqlite")));
    expect(isInvalidAddress(error), String(error)).toBe(true);
    expect(String(error)).toContain("does not exist");
    expect(existsSync(dirname(missing))).toBe(false);
  });

  it("a directory is not a database file", async () => {
    const dir = join(tempDir(), "store");
    mkdirSync(dir);
    const error = await openError(addressOf(dir));
    expect(isInvalidAddress(error), String(error)).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  it.each([
    ["?synchronous=off", "a synchronous mode we do not offer"],
    ["?synchronous=normal&synchronous=full", "a repeated option"],
    ["?readonly=maybe", "a readonly value that is not a boolean"],
    ["?avg_chunk_size=100", "an average chunk size below 512"],
    ["?avg_chunk_size=4194304", "an average chunk size above 2 MiB"],
    ["?avg_chunk_size=1e6", "an average chunk size that is not an integer"],
    ["?chunk_size=4096", "the fixed chunk size of schema version 1, gone"],
    ["?upload_lease=5", "an upload lease below 20 ms"],
    ["?busy_timeout=-1", "a negative busy timeout"],
    ["?page_size=4096", "an unknown option"],
    ["?journal_mode=delete", "an unknown option"],
  ])("%s is an InvalidAddress error (%s) and creates no file", async (query) => {
    const file = tempFile();
    const error = await openError(addressOf(file, query));
    expect(isInvalidAddress(error), String(error)).toBe(true);
    expect(existsSync(file)).toBe(false);
  });

  it.each(["?synchronous=normal", "?synchronous=full", "?avg_chunk_size=4096&busy_timeout=50&upload_lease=1000"])(
    "%s is accepted",
    async (query) => {
      const file = tempFile();
      const service = await registry.open(addressOf(file, query));
      await put(service, BLOB_C.data);
      expectBytes(await readBlob(service, BLOB_C.digest), BLOB_C.data);
      await service.close();
    },
  );

  it("?avg_chunk_size sets the chunk sizes of new blobs (avg/2 to 2·avg), default snix's 256 KiB", async () => {
    for (const [query, avg] of [
      ["", 262_144],
      [`?avg_chunk_size=${1 << 20}`, 1 << 20],
    ] as const) {
      const service = (await registry.open(`sqlite://${query}`)) as SqliteBlobService;
      await put(service, BLOB_C.data);
      const chunks = (await service.chunks(BLOB_C.digest)) ?? [];
      // 5 MiB + 3 bytes: every chunk but the last within the bounds.
      expect(chunks.length).toBeGreaterThan((5 << 20) / (2 * avg));
      for (const chunk of chunks.slice(0, -1)) {
        expect(chunk.size).toBeGreaterThanOrEqual(avg / 2);
        expect(chunk.size).toBeLessThanOrEqual(avg * 2);
      }
      await service.close();
    }
  });

  it("?readonly=1 reads an existing store and refuses writers", async () => {
    const file = tempFile();
    const writable = await registry.open(addressOf(file));
    await put(writable, HELLOWORLD.data);
    await writable.close();

    const readonly = await registry.open(addressOf(file, "?readonly=1"));
    expectBytes(await readBlob(readonly, HELLOWORLD.digest), HELLOWORLD.data);
    await expect(readonly.openWrite()).rejects.toMatchObject({ code: "Unsupported" });
    await readonly.close();
  });

  it("?readonly=1 on a missing file is an InvalidAddress error naming the file, and creates nothing", async () => {
    const file = tempFile();
    const error = await openError(addressOf(file, "?readonly=true"));
    expect(isInvalidAddress(error), String(error)).toBe(true);
    expect(String(error)).toContain(`cannot open ${file} read-only: the file does not exist`);
    expect(existsSync(file)).toBe(false);
  });

  it("sqlite://?readonly=1 (a temporary read-only store) is refused", async () => {
    const error = await openError("sqlite://?readonly=1");
    expect(isInvalidAddress(error), String(error)).toBe(true);
  });

  it("registers with the default registry for fromAddr", async () => {
    register(sqliteBackend);
    const service = await fromAddr("sqlite://");
    expect(service).toBeInstanceOf(SqliteBlobService);
    await service.close();
  });
});
