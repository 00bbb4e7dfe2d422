// A far tier that is a real gRPC server on a real unix socket, with a store behind it.
import { join } from "node:path";
import type { BlobService } from "castore-core";
import { type BlobServer, GrpcBlobService, serveBlobService } from "castore-grpc";
import { SqliteBlobService } from "castore-sqlite";
import { tempDir } from "./temp.js";

export interface ServedFar {
  /** A castore gRPC client of the server (what a cache uses as far). */
  readonly client: GrpcBlobService;
  /** The server; closing it takes far down. */
  readonly server: BlobServer;
  /** The store the server serves. */
  readonly backend: BlobService;
  /** Stops the server and closes the store (the client is the cache's to close). */
  stop(): Promise<void>;
}

let sockets = 0;

/** Serves `backend` (a fresh temporary SQLite store by default) on a new unix socket. */
export async function serveFar(backend?: BlobService): Promise<ServedFar> {
  const store = backend ?? (await SqliteBlobService.open());
  const server = await serveBlobService(store, { listen: { path: join(await tempDir(), `far${sockets++}.sock`) } });
  return {
    client: new GrpcBlobService(server.address),
    server,
    backend: store,
    async stop() {
      await server.close({ timeoutMs: 2_000 });
      await store.close();
    },
  };
}
