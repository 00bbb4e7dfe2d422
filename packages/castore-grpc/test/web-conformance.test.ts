// The conformance suite through the browser client (connect-web, here on Node's fetch) against a
// real server with a chunking store: chunked blobs are read chunk by chunk (seekable, verified per
// chunk), writes are chunked uploads committed with castore.v1.BlobUploadService/CommitChunked.

import { describeBlobService } from "castore-fixtures/vitest";
import type { MemoryBlobService } from "castore-memory";
import { corruptForTesting } from "castore-memory/testing";
import { FixedSizeCutter } from "../src/web/cutter.js";
import { type ServedWebClient, servedWeb } from "./support/served-web.js";

// gRPC-Web only: the Connect protocol is the same client code on another framing, covered by web-client.test.ts.
for (const protocol of ["grpc-web"] as const) {
  describeBlobService(
    `browser client over ${protocol}`,
    // 64 KiB chunks: the suite's larger fixtures become many chunks, its small ones stay one.
    () => servedWeb({ client: { protocol, createCutter: () => new FixedSizeCutter(64 * 1024) } }),
    {
      // castore-memory chunks: the client reads chunked blobs chunk by chunk and seeks anywhere.
      backwardSeek: true,
      seekFromEnd: true,
      chunks: true,
      corrupt: async (service, digest) => {
        const backend = (service as ServedWebClient).backend as MemoryBlobService;
        if (!corruptForTesting(backend, digest)) throw new Error(`cannot corrupt ${digest}`);
      },
    },
  );
}
