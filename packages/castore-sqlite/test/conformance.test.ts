import type { BlobService } from "castore-core";
import { describeBlobService } from "castore-fixtures/vitest";
import { SqliteBlobService } from "../src/index.js";
import { isReleased } from "../src/testing.js";
import { corruptStoredByte } from "./support/corrupt.js";

function capabilities() {
  return {
    backwardSeek: true,
    seekFromEnd: true,
    chunks: true,
    storedBytes: (service: BlobService) => (service as SqliteBlobService).storedBytes(),
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

// Default chunks (FastCDC, 256 KiB average): small fixtures are stored inline, BLOB_C (5 MiB + 3) in
// about twenty content-defined chunks.
describeBlobService("sqlite (temporary store)", () => SqliteBlobService.open(), capabilities());

// Small chunks: every fixture but the smallest crosses many chunk boundaries, wherever the content
// puts them.
describeBlobService(
  "sqlite (1 KiB average chunks)",
  () => SqliteBlobService.open({ avgChunkSize: 1024 }),
  capabilities(),
);

// Bounded stores. 16 MiB is small (a few copies of the 5 MiB fixture) but above what any one case
// keeps stored at once, so the suite's checks hold while eviction runs; 64 MiB with small chunks
// bounds a store of many chunks.
describeBlobService("sqlite (maxSize 16 MiB)", () => SqliteBlobService.open({ maxSize: 16 << 20 }), capabilities());
describeBlobService(
  "sqlite (maxSize 64 MiB, 1 KiB average chunks)",
  () => SqliteBlobService.open({ maxSize: 64 << 20, avgChunkSize: 1024 }),
  capabilities(),
);
