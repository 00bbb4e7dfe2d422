import { describeBlobService } from "castore-fixtures/vitest";
import { MemoryBlobService } from "../src/index.js";

describeBlobService("memory", () => new MemoryBlobService(), {
  backwardSeek: true,
  seekFromEnd: true,
  corrupt: async (service, digest) => {
    if (!(service as MemoryBlobService).corruptForTesting(digest)) throw new Error(`cannot corrupt ${digest}`);
  },
  storedBlobCount: async (service) => (service as MemoryBlobService).blobCount,
});
