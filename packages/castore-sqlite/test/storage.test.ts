// How blobs are laid out (content-defined chunks stored once by digest, one-piece blobs inline),
// and what that buys: bounded writer memory, atomic visibility, deduplication, one-chunk seeks,
// chunks readable as blobs, and no rows left behind.
import { putBlob } from "castore-core";
import { EMPTY, pseudoRandomBytes, readBlob } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { openSqliteBlobService } from "../src/index.js";
import { expectBytes } from "./support/bytes.js";
import { corruptStoredByte } from "./support/corrupt.js";
import { chunkLengths, countRows } from "./support/inspect.js";
import { tempFile } from "./support/temp.js";
import { writeThroughOneBuffer } from "./support/writes.js";

/** Chunks of 512 to 2048 bytes: small blobs span many. */
const AVG = 1024;

async function openStore(avgChunkSize = AVG) {
  const file = tempFile();
  return { file, service: await openSqliteBlobService({ path: file, avgChunkSize }) };
}

describe("chunked storage", () => {
  it("a one-piece blob is one inline row; a larger one is its content-defined chunks and a list", async () => {
    const { file, service } = await openStore();
    const small = pseudoRandomBytes(500, 1);
    const large = pseudoRandomBytes(AVG * 30 + 1, 2);
    await putBlob(service, small);
    expect(countRows(file)).toMatchObject({ blobs: 1, inlineBlobs: 1, chunks: 0 });
    const digest = await putBlob(service, large);
    const lengths = chunkLengths(large, AVG);
    expect(lengths.length).toBeGreaterThan(10);
    expect(countRows(file)).toMatchObject({ blobs: 2, inlineBlobs: 1, chunks: lengths.length, uploads: 0 });
    const chunks = await service.chunks(digest);
    expect(chunks?.map((chunk) => chunk.size)).toEqual(lengths);
    expect(await service.chunks(await putBlob(service, small))).toEqual([]);
    await service.close();
  });

  it("a caller may refill its Buffer once write() resolves: what was stored stays intact", async () => {
    const { service } = await openStore();
    const data = pseudoRandomBytes(AVG * 40, 11);
    // One Node Buffer, refilled for every piece (Buffer#slice makes views, not copies).
    const digest = await writeThroughOneBuffer(service, data, Buffer.alloc(3000));
    expectBytes(await readBlob(service, digest), data);
    for (const chunk of (await service.chunks(digest)) ?? []) {
      await expect(readBlob(service, chunk.digest), String(chunk.digest)).resolves.toBeInstanceOf(Uint8Array);
    }
    await service.close();
  });

  it("every chunk is readable as a blob by its digest, and hashes to it", async () => {
    const { service } = await openStore();
    const data = pseudoRandomBytes(AVG * 10, 3);
    const chunks = (await service.chunks(await putBlob(service, data))) ?? [];
    let offset = 0;
    for (const chunk of chunks) {
      expect(await service.has(chunk.digest)).toBe(true);
      expect(await service.chunks(chunk.digest)).toEqual([]);
      expectBytes(await readBlob(service, chunk.digest), data.subarray(offset, offset + chunk.size));
      offset += chunk.size;
    }
    expect(offset).toBe(data.length);
    await service.close();
  });

  it("chunks are stored as bytes stream in, and nothing is visible before close", async () => {
    const { file, service } = await openStore();
    const data = pseudoRandomBytes(AVG * 40 + 100, 3);
    const writer = await service.openWrite();
    for (let offset = 0, i = 0; offset < data.length; i++) {
      const size = [1000, 3000, 7000][i % 3] as number;
      await writer.write(data.subarray(offset, offset + size));
      offset += size;
    }
    // All but the last few chunks are rows already (the writer holds at most two maximum chunks).
    const lengths = chunkLengths(data, AVG);
    expect(countRows(file).chunks).toBeGreaterThanOrEqual(lengths.length - 4);
    expect(countRows(file)).toMatchObject({ blobs: 0, uploads: 1 });
    const closed = await writer.close();
    expect(await service.has(closed)).toBe(true);
    expect(countRows(file)).toMatchObject({ blobs: 1, chunks: lengths.length, uploads: 0, orphanChunks: 0 });
    expectBytes(await readBlob(service, closed), data);
    await service.close();
  });

  it("an aborted writer leaves no rows behind, and releases no chunk a stored blob shares", async () => {
    const { file, service } = await openStore();
    const shared = pseudoRandomBytes(AVG * 20, 4);
    await putBlob(service, shared);
    const before = countRows(file);
    const writer = await service.openWrite();
    await writer.write(shared);
    await writer.write(pseudoRandomBytes(AVG * 20, 5));
    expect(countRows(file).chunks).toBeGreaterThan(before.chunks);
    await writer.abort();
    expect(countRows(file)).toEqual(before);
    expectBytes(await readBlob(service, await putBlob(service, shared)), shared);
    await service.close();
  });

  it("closing the service aborts unfinished writers: no rows left", async () => {
    const { file, service } = await openStore();
    const writer = await service.openWrite();
    await writer.write(pseudoRandomBytes(AVG * 10, 5));
    await service.close();
    await expect(writer.close()).rejects.toMatchObject({ code: "Closed" });
    expect(countRows(file)).toMatchObject({ blobs: 0, chunks: 0, uploads: 0 });
  });

  it("writing a blob that exists stores nothing new; blobs sharing a region share its chunks", async () => {
    const { file, service } = await openStore();
    const data = pseudoRandomBytes(AVG * 30 + 5, 6);
    const inline = pseudoRandomBytes(100, 7);
    for (let i = 0; i < 3; i++) {
      await putBlob(service, data);
      await putBlob(service, inline);
    }
    const once = countRows(file);
    expect(once).toMatchObject({ blobs: 2, inlineBlobs: 1, uploads: 0, orphanChunks: 0 });
    const bytesOnce = await service.storedBytes();
    expect(bytesOnce).toBe(data.length + inline.length);
    // The same bytes with a prefix: all but the chunks around the edit are shared.
    const edited = new Uint8Array(data.length + 10);
    edited.set(data, 10);
    await putBlob(service, edited);
    expect((await service.storedBytes()) - bytesOnce).toBeLessThan(AVG * 5);
    expect(countRows(file).orphanChunks).toBe(0);
    await service.close();
  });

  it("the empty blob is stored and read back", async () => {
    const { service } = await openStore();
    const writer = await service.openWrite();
    expect((await writer.close()).equals(EMPTY.digest)).toBe(true);
    expectBytes(await readBlob(service, EMPTY.digest), new Uint8Array(0));
    expect(await service.chunks(EMPTY.digest)).toEqual([]);
    await service.close();
  });
});

describe("seeking", () => {
  it("a seek costs one chunk: a damaged first chunk does not stop reading the last one", async () => {
    const { file, service } = await openStore();
    const data = pseudoRandomBytes(AVG * 50 + 17, 8);
    const digest = await putBlob(service, data);
    expect(corruptStoredByte(file, digest, { offset: 10 })).toBe(true);

    const reader = await service.openRead(digest);
    if (!reader) throw new Error("blob missing");
    expect(await reader.seek(-10, "end")).toBe(data.length - 10);
    expectBytes(await reader.read(), data.subarray(data.length - 10));
    // Backwards into the middle: reads the right bytes without touching chunk 0.
    await reader.seek(AVG * 20 + 5);
    expectBytes(await reader.read({ maxBytes: 10 }), data.subarray(AVG * 20 + 5, AVG * 20 + 15));
    await reader.seek(-10, "current");
    expectBytes(await reader.read({ maxBytes: 10 }), data.subarray(AVG * 20 + 5, AVG * 20 + 15));
    // The damaged chunk itself is refused.
    await reader.seek(0);
    await expect(reader.read()).rejects.toMatchObject({ code: "Integrity" });
    await reader.close();
    await service.close();
  });

  it("bytes handed out are the caller's: changing them does not change later reads", async () => {
    const { service } = await openStore();
    const data = pseudoRandomBytes(AVG * 6, 10);
    const digest = await putBlob(service, data);
    const reader = await service.openRead(digest);
    if (!reader) throw new Error("blob missing");
    const part = await reader.read({ maxBytes: 100 });
    const rest = await reader.read();
    part?.fill(0);
    rest?.fill(0);
    await reader.seek(0);
    expectBytes(await reader.read({ maxBytes: 100 }), data.subarray(0, 100));
    const again = await reader.read();
    expectBytes(again, data.subarray(100, 100 + (again?.length ?? 0)));
    await reader.close();
    await service.close();
  });
});
