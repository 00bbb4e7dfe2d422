import type { BlobService } from "castore-core";
import { describeBlobService } from "castore-fixtures/vitest";
import { SqliteBlobService } from "../src/index.js";
import { isReleased } from "../src/testing.js";
import { corruptStoredByte } from "./support/corrupt.js";

function capabilities() {
  return {
    backwardSeek: true,
    seekFromEnd: true,
    corrupt: async (service: BlobService, digest: Parameters<typeof corruptStoredByte>[1]) => {
      if (!corruptStoredByte((service as SqliteBlobService).file, digest)) throw new Error(`cannot corrupt ${digest}`);
    },
    storedBlobCount: (service: BlobService) => (service as SqliteBlobService).count(),
    checkReleased: async (service: BlobService) => {
      if (!isReleased(service as SqliteBlobService))
        throw new Error("the store's connection or temporary files are still there");
    },
  };
}

// Default chunks (1 MiB): small fixtures are stored inline, BLOB_C (5 MiB + 3) in six chunks.
describeBlobService("sqlite (temporary store)", () => SqliteBlobService.open(), capabilities());

// Small chunks of an odd size: every fixture but the smallest crosses many chunk boundaries, and
// none of them falls on a power of two.
describeBlobService("sqlite (10 007-byte chunks)", () => SqliteBlobService.open({ chunkSize: 10_007 }), capabilities());
