// How blobs are laid out as chunk rows, and what that buys: bounded writer memory, atomic
// visibility, deduplication, one-chunk seeks, and no rows left behind.
import { digestOf } from "castore-core";
import { EMPTY, pseudoRandomBytes, readBlob } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { openSqliteBlobService } from "../src/index.js";
import { expectBytes } from "./support/bytes.js";
import { corruptStoredByte } from "./support/corrupt.js";
import { countRows } from "./support/inspect.js";
import { tempFile } from "./support/temp.js";

const CHUNK = 4096;

async function openStore(chunkSize = CHUNK) {
  const file = tempFile();
  return { file, service: await openSqliteBlobService({ path: file, chunkSize }) };
}

describe("chunked storage", () => {
  it("a blob of at most one chunk is one inline row; a larger one is one row per chunk", async () => {
    const { file, service } = await openStore();
    const small = pseudoRandomBytes(CHUNK, 1);
    const large = pseudoRandomBytes(CHUNK * 3 + 1, 2);
    const writer = await service.openWrite();
    await writer.write(small);
    await writer.close();
    expect(countRows(file)).toMatchObject({ blobs: 1, inlineBlobs: 1, chunks: 0 });
    const writer2 = await service.openWrite();
    await writer2.write(large);
    await writer2.close();
    expect(countRows(file)).toMatchObject({ blobs: 2, inlineBlobs: 1, chunks: 4, uploads: 0 });
    await service.close();
  });

  it("chunks are stored as bytes stream in, the writer holds at most one, and nothing is visible before close", async () => {
    const { file, service } = await openStore();
    const data = pseudoRandomBytes(CHUNK * 5 + 100, 3);
    const writer = await service.openWrite();
    // In odd pieces, so chunk boundaries fall inside writes.
    for (let offset = 0, i = 0; offset < data.length; i++) {
      const size = [1000, 3000, 7000][i % 3] as number;
      await writer.write(data.subarray(offset, offset + size));
      offset += size;
      const written = Math.min(offset, data.length);
      // Every complete chunk that more bytes followed is already a row.
      expect(countRows(file).chunks).toBe(Math.max(0, Math.ceil(written / CHUNK) - 1));
    }
    const digest = await digestOf(data);
    expect(await service.has(digest)).toBe(false);
    expect(countRows(file)).toMatchObject({ blobs: 0, uploads: 1 });
    expect((await writer.close()).equals(digest)).toBe(true);
    expect(countRows(file)).toMatchObject({ blobs: 1, chunks: 6, uploads: 0 });
    expectBytes(await readBlob(service, digest), data);
    await service.close();
  });

  it("an aborted writer leaves no rows behind", async () => {
    const { file, service } = await openStore();
    const writer = await service.openWrite();
    await writer.write(pseudoRandomBytes(CHUNK * 40, 4));
    expect(countRows(file).chunks).toBeGreaterThan(0);
    await writer.abort();
    expect(countRows(file)).toEqual({ blobs: 0, inlineBlobs: 0, chunks: 0, uploads: 0, orphanChunks: 0 });
    await service.close();
  });

  it("closing the service aborts unfinished writers: no rows left", async () => {
    const { file, service } = await openStore();
    const writer = await service.openWrite();
    await writer.write(pseudoRandomBytes(CHUNK * 10, 5));
    await service.close();
    await expect(writer.close()).rejects.toMatchObject({ code: "Closed" });
    expect(countRows(file)).toMatchObject({ blobs: 0, chunks: 0, uploads: 0 });
  });

  it("writing a blob that exists stores nothing new", async () => {
    const { file, service } = await openStore();
    const data = pseudoRandomBytes(CHUNK * 8 + 5, 6);
    const inline = pseudoRandomBytes(100, 7);
    for (let i = 0; i < 3; i++) {
      const writer = await service.openWrite();
      await writer.write(data);
      await writer.write(inline);
      await writer.close();
      const again = await service.openWrite();
      await again.write(inline);
      await again.close();
    }
    expect(countRows(file)).toEqual({ blobs: 2, inlineBlobs: 1, chunks: 9, uploads: 0, orphanChunks: 0 });
    await service.close();
  });

  it("the empty blob is stored and read back", async () => {
    const { service } = await openStore();
    const writer = await service.openWrite();
    expect((await writer.close()).equals(EMPTY.digest)).toBe(true);
    expectBytes(await readBlob(service, EMPTY.digest), new Uint8Array(0));
    await service.close();
  });
});

describe("seeking", () => {
  it("a seek costs one chunk: a damaged first chunk does not stop reading the last one", async () => {
    const { file, service } = await openStore();
    const data = pseudoRandomBytes(CHUNK * 50 + 17, 8);
    const digest = await (async () => {
      const writer = await service.openWrite();
      await writer.write(data);
      return writer.close();
    })();
    expect(corruptStoredByte(file, digest, { offset: 10 })).toBe(true);

    const reader = await service.openRead(digest);
    if (!reader) throw new Error("blob missing");
    expect(await reader.seek(-10, "end")).toBe(data.length - 10);
    expectBytes(await reader.read(), data.subarray(data.length - 10));
    // Backwards into the middle: reads the right bytes without touching chunk 0.
    await reader.seek(CHUNK * 20 + 5);
    expectBytes(await reader.read({ maxBytes: 10 }), data.subarray(CHUNK * 20 + 5, CHUNK * 20 + 15));
    await reader.seek(-10, "current");
    expectBytes(await reader.read({ maxBytes: 10 }), data.subarray(CHUNK * 20 + 5, CHUNK * 20 + 15));
    // The damaged chunk itself is refused.
    await reader.seek(0);
    await expect(reader.read()).rejects.toMatchObject({ code: "Integrity" });
    await reader.close();
    await service.close();
  });

  it("an unlimited read returns the rest of the current chunk", async () => {
    const { service } = await openStore();
    const data = pseudoRandomBytes(CHUNK * 3, 9);
    const writer = await service.openWrite();
    await writer.write(data);
    const digest = await writer.close();
    const reader = await service.openRead(digest);
    await reader?.seek(CHUNK + 100);
    expectBytes(await reader?.read(), data.subarray(CHUNK + 100, CHUNK * 2));
    expectBytes(await reader?.read(), data.subarray(CHUNK * 2));
    expect(await reader?.read()).toBeUndefined();
    await reader?.close();
    await service.close();
  });

  it("bytes handed out are the caller's: changing them does not change later reads", async () => {
    const { service } = await openStore();
    const data = pseudoRandomBytes(CHUNK * 2, 10);
    const writer = await service.openWrite();
    await writer.write(data);
    const digest = await writer.close();
    const reader = await service.openRead(digest);
    if (!reader) throw new Error("blob missing");
    const part = await reader.read({ maxBytes: 100 });
    const rest = await reader.read();
    part?.fill(0);
    rest?.fill(0);
    await reader.seek(0);
    expectBytes(await reader.read({ maxBytes: 100 }), data.subarray(0, 100));
    expectBytes(await reader.read(), data.subarray(100, CHUNK));
    await reader.close();
    await service.close();
  });
});
