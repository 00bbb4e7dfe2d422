import { describeBlobService } from "castore-fixtures/vitest";
import { MemoryBlobService } from "../src/index.js";
import { corruptForTesting } from "../src/testing.js";

describeBlobService("memory", () => new MemoryBlobService(), {
  backwardSeek: true,
  seekFromEnd: true,
  chunks: true,
  corrupt: async (service, digest) => {
    if (!corruptForTesting(service as MemoryBlobService, digest)) throw new Error(`cannot corrupt ${digest}`);
  },
  storedBlobCount: async (service) => (service as MemoryBlobService).blobCount,
  storedBytes: async (service) => (service as MemoryBlobService).storedBytes,
  // The only resource a memory store holds is its blobs: a closed one must have let go of them.
  checkReleased: async (service) => {
    const memory = service as MemoryBlobService;
    if (!memory.closed || memory.blobCount !== 0 || memory.storedBytes !== 0)
      throw new Error(`closed: ${memory.closed}, blobs: ${memory.blobCount}, bytes: ${memory.storedBytes}`);
  },
});
