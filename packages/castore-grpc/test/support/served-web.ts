// The browser client (connect-web over fetch) against a real server on TCP, run in Node: Node's
// fetch speaks HTTP/1.1, which the server answers on the same port as HTTP/2.
import type { BlobService } from "castore-core";
import { MemoryBlobService } from "castore-memory";
import { type BlobServer, type ServeBlobServiceOptions, serveBlobService } from "../../src/server/serve.js";
import { GrpcWebBlobService, type GrpcWebBlobServiceOptions } from "../../src/web/blob-service.js";

/**
 * Node's fetch with one connection per request. Node's fetch keeps idle HTTP/1.1 connections and
 * reuses them; on a loaded machine it can pick one the server is closing at that moment (its
 * keep-alive timeout), and the request fails with ECONNRESET (browsers retry such a request; Node's
 * fetch does not). Idle connections would also hold up each server's graceful close.
 */
export const fetchWithoutKeepAlive: typeof fetch = (input, init) => {
  const headers = new Headers(init?.headers);
  headers.set("connection", "close");
  return fetch(input, { ...init, headers });
};

/** A web client that, when closed, also stops its server and closes the store behind it. */
export class ServedWebClient extends GrpcWebBlobService {
  readonly server: BlobServer;
  readonly backend: BlobService;

  constructor(server: BlobServer, backend: BlobService, options?: GrpcWebBlobServiceOptions) {
    super(server.address, { fetch: fetchWithoutKeepAlive, ...options });
    this.server = server;
    this.backend = backend;
  }

  protected override async closeImpl(): Promise<void> {
    super.closeImpl();
    await this.server.close({ timeoutMs: 2_000 });
    await this.backend.close();
  }
}

/** Serves `backend` (a fresh memory store by default) on 127.0.0.1 and returns a web client for it. */
export async function servedWeb<B extends BlobService = MemoryBlobService>(
  options: { backend?: B; server?: Omit<ServeBlobServiceOptions, "listen">; client?: GrpcWebBlobServiceOptions } = {},
): Promise<ServedWebClient & { backend: B }> {
  const backend = options.backend ?? (new MemoryBlobService() as unknown as B);
  const server = await serveBlobService(backend, { ...options.server, listen: { port: 0 } });
  return new ServedWebClient(server, backend, options.client) as ServedWebClient & { backend: B };
}
