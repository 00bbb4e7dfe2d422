// Real servers on real sockets for the tests: a fresh temporary directory for unix sockets, a
// memory store behind serveBlobService, and a client that shuts the whole arrangement down.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BlobService } from "castore-core";
import { MemoryBlobService } from "castore-memory";
import { afterAll } from "vitest";
import { GrpcBlobService, type GrpcBlobServiceOptions } from "../../src/client/blob-service.js";
import type { ListenAddress } from "../../src/server/listen.js";
import { type BlobServer, type ServeBlobServiceOptions, serveBlobService } from "../../src/server/serve.js";

export type Transport = "unix" | "tcp";

const directories: string[] = [];
afterAll(async () => {
  await Promise.all(directories.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh temporary directory, removed after the test file. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "castore-grpc-"));
  directories.push(dir);
  return dir;
}

let sockets = 0;
/** A listen address of the given kind: a new unix socket path, or 127.0.0.1 on a free port. */
export async function listenOn(transport: Transport): Promise<ListenAddress> {
  return transport === "unix" ? { path: join(await tempDir(), `s${sockets++}.sock`) } : { port: 0 };
}

/** The test certificate (self-signed for localhost, 127.0.0.1 and ::1, valid until 2126). */
export async function testCertificate(): Promise<{ key: Buffer; cert: Buffer }> {
  const dir = new URL("../fixtures/", import.meta.url);
  return {
    key: await readFile(new URL("localhost-key.pem", dir)),
    cert: await readFile(new URL("localhost-cert.pem", dir)),
  };
}

/** A client that, when closed, also stops its server and closes the store behind it. */
export class ServedClient extends GrpcBlobService {
  readonly server: BlobServer;
  readonly backend: BlobService;

  constructor(server: BlobServer, backend: BlobService, options?: GrpcBlobServiceOptions) {
    super(server.address, options);
    this.server = server;
    this.backend = backend;
  }

  protected override async closeImpl(): Promise<void> {
    super.closeImpl();
    await this.server.close({ timeoutMs: 2_000 });
    await this.backend.close();
  }
}

/** Serves `backend` (a fresh memory store by default) and returns a client for it. */
export async function served<B extends BlobService = MemoryBlobService>(
  transport: Transport,
  options: {
    backend?: B;
    server?: Omit<ServeBlobServiceOptions, "listen">;
    client?: GrpcBlobServiceOptions;
  } = {},
): Promise<ServedClient & { backend: B }> {
  const backend = options.backend ?? (new MemoryBlobService() as unknown as B);
  const server = await serveBlobService(backend, { ...options.server, listen: await listenOn(transport) });
  return new ServedClient(server, backend, options.client) as ServedClient & { backend: B };
}
