// The retry policy against a real HTTP server that answers like an overloaded or broken S3 service
// (a gateway cannot be made to throttle on demand).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { S3StoreError } from "../src/s3/errors.js";
import { S3ObjectStore } from "../src/s3/s3-store.js";

type Reply = (request: IncomingMessage, response: ServerResponse) => void;

let server: Server | undefined;
afterEach(async () => {
  const current = server;
  server = undefined;
  if (current) {
    current.closeAllConnections();
    await new Promise<void>((resolve) => current.close(() => resolve()));
  }
});

/** Serves the replies in order (the last one repeats) and counts requests. */
async function serve(replies: Reply[]): Promise<{ store: S3ObjectStore; requests: () => number }> {
  let count = 0;
  server = createServer((request, response) => {
    const reply = replies[Math.min(count, replies.length - 1)] as Reply;
    count++;
    request.resume();
    request.on("end", () => reply(request, response));
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const store = new S3ObjectStore({
    bucket: "bucket",
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    credentials: { accessKeyId: "K", secretAccessKey: "S" },
    retry: { retries: 3, baseDelayMs: 1, maxDelayMs: 5 },
  });
  return { store, requests: () => count };
}

const xmlError =
  (status: number, code: string): Reply =>
  (_, response) => {
    response.writeHead(status, { "content-type": "application/xml" });
    response.end(`<?xml version="1.0"?><Error><Code>${code}</Code><Message>m</Message></Error>`);
  };
const ok: Reply = (_, response) => {
  response.writeHead(200, { "content-length": "3", etag: '"x"' });
  response.end("abc");
};
const hangUp: Reply = (request) => request.socket.destroy();

describe("S3 retries", () => {
  it("retries 503 SlowDown and 500 with backoff, then succeeds", async () => {
    const { store, requests } = await serve([xmlError(503, "SlowDown"), xmlError(500, "InternalError"), ok]);
    expect(new TextDecoder().decode(await store.get("k"))).toBe("abc");
    expect(requests()).toBe(3);
    await store.close();
  });

  it("retries a dropped connection", async () => {
    const { store, requests } = await serve([hangUp, ok]);
    expect(new TextDecoder().decode(await store.get("k"))).toBe("abc");
    expect(requests()).toBe(2);
    await store.close();
  });

  it("gives up after the configured retries with a throttled error", async () => {
    const { store, requests } = await serve([xmlError(503, "SlowDown")]);
    const error = await store.putIfAbsent("k", new Uint8Array(3)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(S3StoreError);
    expect((error as S3StoreError).kind).toBe("throttled");
    expect((error as Error).message).toContain("after 4 attempts");
    expect(requests()).toBe(4);
    await store.close();
  });

  it.each([
    [400, "InvalidRequest"],
    [403, "AccessDenied"],
    [409, "OperationAborted"],
    [429, "TooManyRequests"],
  ])("never retries a %i", async (status, code) => {
    const { store, requests } = await serve([xmlError(status, code), ok]);
    const error = await store.get("k").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(S3StoreError);
    expect((error as S3StoreError).status).toBe(status);
    expect(requests()).toBe(1);
    await store.close();
  });

  it("an aborted signal stops the retries at once", async () => {
    const { store } = await serve([xmlError(503, "SlowDown")]);
    const slow = new S3ObjectStore({
      bucket: "bucket",
      endpoint: (store as unknown as { endpoint: string }).endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: "K", secretAccessKey: "S" },
      retry: { retries: 10, baseDelayMs: 60_000, maxDelayMs: 60_000 },
    });
    const controller = new AbortController();
    const pending = slow.get("k", controller.signal).catch((e: unknown) => e);
    setTimeout(() => controller.abort(), 50);
    const error = await pending;
    expect((error as { code?: string }).code).toBe("Aborted");
    await slow.close();
    await store.close();
  });
});
