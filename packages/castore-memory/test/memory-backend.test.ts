import {
  BlobServiceRegistry,
  canReportStatistics,
  fromAddr,
  isInvalidAddress,
  register,
  statisticsOf,
} from "castore-core";
import { chunkSizesFor, FastCdcChunker } from "castore-core/backend";
import { BLOB_B, BLOB_C, checkBytes, HELLOWORLD, put, readBlob } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { MemoryBlobService, memoryBackend } from "../src/index.js";
import { corruptForTesting } from "../src/testing.js";

describe("memory:// addresses", () => {
  const registry = new BlobServiceRegistry([memoryBackend]);

  it("memory:// opens a new, empty store each time", async () => {
    const first = await registry.open("memory://");
    const second = await registry.open("memory://");
    expect(first).toBeInstanceOf(MemoryBlobService);
    await put(first, HELLOWORLD.data);
    expect(await first.has(HELLOWORLD.digest)).toBe(true);
    expect(await second.has(HELLOWORLD.digest)).toBe(false);
    await first.close();
    await second.close();
  });

  it.each([
    ["memory:///", "a path"],
    ["memory://foo", "a host"],
    ["memory://foo/bar", "a host and a path"],
    ["memory://user@", "a user"],
    ["memory:///some/path", "a path"],
    ["memory://?size=10", "an unknown option"],
    ["memory://?avg_chunk_size=511", "an average chunk size below 512"],
    ["memory://?avg_chunk_size=2097153", "an average chunk size above 2 MiB"],
    ["memory://?avg_chunk_size=64k", "an average chunk size that is not a number"],
    ["memory://?avg_chunk_size=1024&avg_chunk_size=1024", "a repeated option"],
    ["memory://#x", "a fragment"],
  ])("%s is an InvalidAddress error (%s)", async (address) => {
    const error = await registry.open(address).catch((e: unknown) => e);
    expect(isInvalidAddress(error), String(error)).toBe(true);
  });

  it("takes the average chunk size from ?avg_chunk_size= (default snix's 262144)", async () => {
    const standard = (await registry.open("memory://")) as MemoryBlobService;
    expect(standard.chunkSizes).toEqual({ minSize: 131072, avgSize: 262144, maxSize: 524288 });
    const small = (await registry.open("memory://?avg_chunk_size=4096")) as MemoryBlobService;
    expect(small.chunkSizes).toEqual({ minSize: 2048, avgSize: 4096, maxSize: 8192 });
    await put(small, BLOB_B.data);
    const chunks = (await small.chunks(BLOB_B.digest)) ?? [];
    expect(chunks.length).toBeGreaterThan(100);
    expect(Math.max(...chunks.map((c) => c.size))).toBeLessThanOrEqual(8192);
    await standard.close();
    await small.close();
  });

  it("registers with the default registry for fromAddr", async () => {
    register(memoryBackend);
    register(memoryBackend); // registering the same backend again is a no-op
    const service = await fromAddr("memory://");
    expect(service).toBeInstanceOf(MemoryBlobService);
    await service.close();
  });
});

describe("MemoryBlobService", () => {
  it("counts distinct blobs", async () => {
    const service = new MemoryBlobService();
    expect(service.blobCount).toBe(0);
    await put(service, BLOB_B.data);
    await put(service, BLOB_B.data);
    await put(service, HELLOWORLD.data);
    expect(service.blobCount).toBe(2);
    await service.close();
    expect(service.blobCount).toBe(0);
  });

  it("refuses a bad avgChunkSize with InvalidArgument", () => {
    for (const avgChunkSize of [0, 511, 2_097_153, 1000.5, Number.NaN]) {
      expect(() => new MemoryBlobService({ avgChunkSize })).toThrow(
        expect.objectContaining({ code: "InvalidArgument" }),
      );
    }
  });

  it("cuts blobs as snix does and stores each chunk once, shared between blobs", async () => {
    const service = new MemoryBlobService();
    await put(service, BLOB_C.data);
    const chunks = (await service.chunks(BLOB_C.digest)) ?? [];
    // FastCDC 2020 at 131072/262144/524288 over BLOB_C (the same cuts the chunker's tests pin).
    const chunker = new FastCdcChunker(chunkSizesFor());
    const cuts = [...chunker.update(BLOB_C.data), ...chunker.finish()];
    let start = 0;
    expect(chunks.map((c) => c.size)).toEqual(cuts.map((cut) => -start + (start = cut.end)));
    expect(service.storedBytes).toBe(BLOB_C.data.length);
    // A blob made of BLOB_C's first two chunks shares them: it adds nothing.
    const two = BLOB_C.data.subarray(0, (chunks[0]?.size ?? 0) + (chunks[1]?.size ?? 0));
    await put(service, two);
    expect(service.storedBytes).toBe(BLOB_C.data.length);
    expect(service.blobCount).toBe(2);
    // A one-piece blob is stored whole and lists no chunks.
    await put(service, HELLOWORLD.data);
    expect(await service.chunks(HELLOWORLD.digest)).toEqual([]);
    expect(service.storedBytes).toBe(BLOB_C.data.length + 12);
    await service.close();
  });

  it("reports what it holds and what uploads wrote and deduplicated", async () => {
    const service = new MemoryBlobService();
    expect(canReportStatistics(service)).toBe(true);
    expect(statisticsOf(service)).toEqual({ blobs: 0, storedBytes: 0, chunksWritten: 0, chunksDeduplicated: 0 });
    await put(service, BLOB_C.data);
    const chunks = (await service.chunks(BLOB_C.digest)) ?? [];
    expect(statisticsOf(service)).toEqual({
      blobs: 1,
      storedBytes: BLOB_C.data.length,
      chunksWritten: chunks.length,
      chunksDeduplicated: 0,
    });
    // The same blob again stores nothing new: every chunk it carried counts as deduplicated; so do
    // the two chunks a blob of BLOB_C's first two chunks shares with it.
    await put(service, BLOB_C.data);
    await put(service, BLOB_C.data.subarray(0, (chunks[0]?.size ?? 0) + (chunks[1]?.size ?? 0)));
    await put(service, HELLOWORLD.data);
    expect(statisticsOf(service)).toEqual({
      blobs: 3,
      storedBytes: BLOB_C.data.length + 12,
      chunksWritten: chunks.length + 1,
      chunksDeduplicated: chunks.length + 2,
    });
    await service.close();
  });

  it("keeps its test hook out of the store's API (castore-memory/testing has it)", async () => {
    const root: Record<string, unknown> = await import("../src/index.js");
    expect(Object.keys(root).sort()).toEqual(["MemoryBlobService", "memoryBackend"]);
    expect("corruptForTesting" in MemoryBlobService.prototype).toBe(false);
  });

  it("hands out views of a reader's own copy of each chunk: writing through them changes nothing stored", async () => {
    const service = new MemoryBlobService();
    await put(service, BLOB_C.data);
    expect(((await service.chunks(BLOB_C.digest)) ?? []).length).toBeGreaterThan(1);
    const reader = await service.openRead(BLOB_C.digest);
    const first = await reader?.read();
    // Not just the view: the whole array behind it, which holds the rest of the chunk too.
    new Uint8Array(first?.buffer ?? new ArrayBuffer(0)).fill(0xaa);
    await reader?.close();
    checkBytes(await readBlob(service, BLOB_C.digest), BLOB_C.data, "BLOB_C after a caller wrote into a read's array");
    await service.close();
  });

  it("corruptForTesting damages a stored blob so that reading it fails with Integrity", async () => {
    const service = new MemoryBlobService();
    await put(service, BLOB_B.data);
    expect(corruptForTesting(service, HELLOWORLD.digest)).toBe(false);
    expect(corruptForTesting(service, BLOB_B.digest, 0)).toBe(true);
    await expect(readBlob(service, BLOB_B.digest)).rejects.toMatchObject({ code: "Integrity" });
    // Flipping the same byte back repairs it.
    expect(corruptForTesting(service, BLOB_B.digest, 0)).toBe(true);
    checkBytes(await readBlob(service, BLOB_B.digest), BLOB_B.data, "BLOB_B after repair");
    await service.close();
  });
});
