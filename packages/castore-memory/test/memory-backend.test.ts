import { BlobServiceRegistry, fromAddr, isInvalidAddress, register } from "castore-core";
import { BLOB_B, checkBytes, HELLOWORLD, put, readBlob } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { MemoryBlobService, memoryBackend } from "../src/index.js";

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
    ["memory://?size=10", "an option"],
    ["memory://#x", "a fragment"],
  ])("%s is an InvalidAddress error (%s)", async (address) => {
    const error = await registry.open(address).catch((e: unknown) => e);
    expect(isInvalidAddress(error), String(error)).toBe(true);
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

  it("corruptForTesting damages a stored blob so that reading it fails with Integrity", async () => {
    const service = new MemoryBlobService();
    await put(service, BLOB_B.data);
    expect(service.corruptForTesting(HELLOWORLD.digest)).toBe(false);
    expect(service.corruptForTesting(BLOB_B.digest, 0)).toBe(true);
    await expect(readBlob(service, BLOB_B.digest)).rejects.toMatchObject({ code: "Integrity" });
    // Flipping the same byte back repairs it.
    expect(service.corruptForTesting(BLOB_B.digest, 0)).toBe(true);
    checkBytes(await readBlob(service, BLOB_B.digest), BLOB_B.data, "BLOB_B after repair");
    await service.close();
  });
});
