// The whole conformance suite through castore's client, a real server on a real socket, and a
// store behind it: every case gets its own server (a fresh, empty store).

import * as net from "node:net";
import type { BlobService } from "castore-core";
import { describeBlobService } from "castore-fixtures/vitest";
import type { MemoryBlobService } from "castore-memory";
import { corruptForTesting } from "castore-memory/testing";
import { parseGrpcAddress } from "../src/client/address.js";
import { OnePieceBlobService } from "./support/one-piece.js";
import { type ServedClient, served, type Transport } from "./support/served.js";

/** Throws unless nothing accepts connections at the server's address any more. */
async function checkServerGone(service: BlobService): Promise<void> {
  const { socketPath, origin } = parseGrpcAddress((service as ServedClient).server.address);
  const { hostname, port } = new URL(origin);
  await new Promise<void>((resolve, reject) => {
    const socket = socketPath ? net.connect(socketPath) : net.connect(Number(port), hostname);
    socket.once("connect", () => {
      socket.destroy();
      reject(new Error("the server still accepts connections after close"));
    });
    socket.once("error", () => resolve());
  });
}

const memoryOf = (service: BlobService) => (service as ServedClient).backend as MemoryBlobService;

// A chunking store (castore-memory cuts blobs with FastCDC): the client gets chunk lists from Stat,
// reads chunked blobs chunk by chunk and seeks anywhere in them.
for (const transport of ["unix", "tcp"] satisfies Transport[]) {
  describeBlobService(`gRPC over ${transport}, chunking store`, () => served(transport), {
    backwardSeek: true,
    seekFromEnd: true,
    chunks: true,
    corrupt: async (service, digest) => {
      if (!corruptForTesting(memoryOf(service), digest)) throw new Error(`cannot corrupt ${digest}`);
    },
    storedBlobCount: async (service) => memoryOf(service).blobCount,
    storedBytes: async (service) => memoryOf(service).storedBytes,
    checkReleased: checkServerGone,
  });
}

// A store without chunk lists: a gRPC Read is then one stream, and readers skip forward but cannot
// seek back or from the end.
describeBlobService("gRPC over unix, one-piece store", () => served("unix", { backend: new OnePieceBlobService() }), {
  backwardSeek: false,
  seekFromEnd: false,
  corrupt: async (service, digest) => {
    const backend = (service as ServedClient).backend as OnePieceBlobService;
    if (!backend.corrupt(digest)) throw new Error(`cannot corrupt ${digest}`);
  },
  storedBlobCount: async (service) => ((service as ServedClient).backend as OnePieceBlobService).blobCount,
  checkReleased: checkServerGone,
});
