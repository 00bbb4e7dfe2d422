// The Rust original's ping-pong test: a server on a unix socket in one place, and elsewhere a client
// that waits for the socket to appear and asks whether an absent blob is there.
import { access } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DUMMY_DIGEST } from "castore-fixtures";
import { MemoryBlobService } from "castore-memory";
import { expect, it } from "vitest";
import { GrpcBlobService } from "../src/client/blob-service.js";
import { serveBlobService } from "../src/server/serve.js";
import { tempDir } from "./support/served.js";

async function waitForSocket(path: string): Promise<void> {
  for (;;) {
    try {
      await access(path);
      return;
    } catch {
      await sleep(10);
    }
  }
}

it("a client waits for the server's socket, then asks has() for an absent blob: false", async () => {
  const socket = join(await tempDir(), "daemon.sock");
  const backend = new MemoryBlobService();
  const server = sleep(100).then(() => serveBlobService(backend, { listen: { path: socket } }));

  const client = new GrpcBlobService(`grpc+unix://${socket}`);
  await waitForSocket(socket);
  expect(await client.has(DUMMY_DIGEST)).toBe(false);

  await client.close();
  await (await server).close();
  await backend.close();
});
