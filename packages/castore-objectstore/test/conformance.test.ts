import type { BlobServiceCapabilities } from "castore-fixtures";
import { describeBlobService } from "castore-fixtures/vitest";
import { afterAll } from "vitest";
import type { ObjectStoreBlobService } from "../src/service.js";
import { noGateway } from "./support/s3.js";
import { blobKeys, corruptBlob, fileKind, memoryKind, type StoreKind, s3Kind, storedBytes } from "./support/stores.js";

function capabilities(kind: StoreKind): BlobServiceCapabilities {
  return {
    backwardSeek: true,
    seekFromEnd: true,
    chunks: true,
    corrupt: (service, digest) => corruptBlob(kind, service, digest),
    storedBytes: (service) => storedBytes(kind, service),
    storedBlobCount: async (service) => blobKeys(await kind.keys(service as ObjectStoreBlobService)).length,
  };
}

// Small average chunks in memory so that every fixture is cut into many chunks; snix's default on
// S3; a size in between on disk (each chunk there is a file with two fsyncs).
const memory = memoryKind;
describeBlobService("objectstore+memory", () => memory.create({ avgChunkSize: 4096 }), capabilities(memory));

const file = fileKind();
afterAll(() => file.cleanup());
describeBlobService("objectstore+file", () => file.create({ avgChunkSize: 65536 }), capabilities(file));

// Bounded: 16 MiB is above what any one case keeps stored at once (a few copies of the 5 MiB
// fixture), so the suite's checks hold while eviction runs.
const boundedFile = fileKind(16 << 20);
afterAll(() => boundedFile.cleanup());
describeBlobService(
  "objectstore+file (max_size 16 MiB)",
  () => boundedFile.create({ avgChunkSize: 65536 }),
  capabilities(boundedFile),
);

if (noGateway === undefined) {
  const s3 = s3Kind();
  afterAll(() => s3.cleanup());
  describeBlobService("objectstore+s3 (Ceph RGW)", () => s3.create(), capabilities(s3));
} else {
  console.warn(`objectstore+s3 conformance SKIPPED: ${noGateway}`);
}
