// serveBlobService's observer: what an embedding application is told of calls, refusals and
// connections, on a real server with real clients; and that the observer's `run` is the context
// the store is called in.
import { AsyncLocalStorage } from "node:async_hooks";
import { type B3Digest, type BlobWriter, digestOf, readAll, type SignalOptions } from "castore-core";
import { DUMMY_DIGEST, pseudoRandomBytes } from "castore-fixtures";
import { MemoryBlobService } from "castore-memory";
import { describe, expect, it } from "vitest";
import { GrpcBlobService } from "../src/client/blob-service.js";
import { type CallEnd, type CallStart, combineObservers, type ServerObserver } from "../src/server/observer.js";
import { serveBlobService } from "../src/server/serve.js";
import { exchange } from "./support/raw.js";

const TOKEN = "observer-test-token";

/** A memory store that notes which call (by the observer's context) asked for each blob. */
class NotingStore extends MemoryBlobService {
  readonly seen: (string | undefined)[] = [];
  constructor(readonly context: AsyncLocalStorage<string>) {
    super();
  }
  override openRead(digest: B3Digest, options?: SignalOptions) {
    this.seen.push(this.context.getStore());
    return super.openRead(digest, options);
  }
  override openWrite(options?: SignalOptions): Promise<BlobWriter> {
    this.seen.push(this.context.getStore());
    return super.openWrite(options);
  }
}

function recorder() {
  const ended: (CallStart & CallEnd & { id: string })[] = [];
  const refused: string[] = [];
  const connections = { opened: 0, closed: 0 };
  const allClosed = Promise.withResolvers<void>();
  const context = new AsyncLocalStorage<string>();
  let next = 0;
  const observer: ServerObserver = {
    callStarted(call) {
      const id = `call-${next++}`;
      return {
        run: (handle) => context.run(id, handle),
        ended: (end) => ended.push({ ...call, ...end, id }),
      };
    },
    refused: (reason) => refused.push(reason),
    connectionOpened: () => connections.opened++,
    connectionClosed: () => {
      if (++connections.closed === connections.opened) allClosed.resolve();
    },
  };
  return { observer, ended, refused, connections, context, allClosed: allClosed.promise };
}

describe("serveBlobService({ observer })", () => {
  it("tells of each call (service, method, protocol, status, bytes, digest), refusal and connection", async () => {
    const { observer, ended, refused, connections, context, allClosed } = recorder();
    const store = new NotingStore(context);
    const server = await serveBlobService(store, { listen: { port: 0 }, authToken: TOKEN, observer });
    const client = new GrpcBlobService(server.address, { authToken: TOKEN });
    try {
      const blob = pseudoRandomBytes(200_000, 4242);
      const writer = await client.openWrite();
      await writer.write(blob);
      const digest = await writer.close();
      expect(digest.toString()).toBe((await digestOf(blob)).toString());
      const reader = await client.openRead(digest);
      expect(reader && (await readAll(reader)).length).toBe(blob.length);
      expect(await client.has(DUMMY_DIGEST)).toBe(false);

      const origin = server.address.replace("grpc+", "");
      const connect = await fetch(`${origin}/snix.castore.v1.BlobService/Stat`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ digest: Buffer.from(digest.bytes).toString("base64") }),
      });
      expect(connect.status).toBe(200);
      const unknown = await fetch(`${origin}/no.such.Service/Method`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
        body: "{}",
      });
      expect(unknown.status).toBe(404);
      // Refused before any handler: no token, another host.
      expect((await fetch(`${origin}/snix.castore.v1.BlobService/Stat`, { method: "POST" })).status).toBe(401);
      const answer = await exchange(
        server.address,
        "GET / HTTP/1.1\r\nhost: rebound.example\r\nconnection: close\r\n\r\n",
      );
      expect(answer).toMatch(/^HTTP\/1\.1 421/);
    } finally {
      await client.close();
      await server.close();
    }

    const byMethod = (method: string, protocol = "grpc") =>
      ended.filter((call) => call.method === method && call.protocol === protocol);
    const [put] = byMethod("Put");
    expect(put).toMatchObject({
      service: "tvix.castore.v1.BlobService",
      code: 0,
      status: "OK",
      bytesReceived: 200_000,
    });
    expect(put?.digest).toMatch(/^b3:/);
    const [read] = byMethod("Read");
    expect(read).toMatchObject({ code: 0, bytesSent: 200_000, bytesReceived: 0, digest: put?.digest });
    expect(read?.durationMs).toBeGreaterThan(0);
    expect(byMethod("Stat").map((call) => call.status)).toContain("NOT_FOUND");
    expect(byMethod("Stat", "connect")).toMatchObject([
      { service: "snix.castore.v1.BlobService", status: "OK", digest: put?.digest },
    ]);
    // A path the server does not serve is reported under "unknown", whatever the client named.
    expect(byMethod("unknown", "connect")).toMatchObject([{ service: "unknown", status: "UNIMPLEMENTED" }]);
    expect(refused.sort()).toEqual(["auth", "host"]);
    // The store was called inside each call's `run`: with the ids of the Put and the Read.
    expect(store.seen).toEqual([put?.id, read?.id]);
    expect(connections.opened).toBeGreaterThanOrEqual(3);
    await allClosed; // every connection the server accepted, closed (they close as the server stops)
    expect(connections.closed).toBe(connections.opened);
  });

  it("an observer that throws is reported to onError and disturbs no call; combined, the others are still told", async () => {
    const errors: unknown[] = [];
    const { observer: recording, ended } = recorder();
    const failing: ServerObserver = {
      callStarted: (call) => {
        if (call.method === "Stat") throw new Error("callStarted failed");
        return {
          ended: () => {
            throw new Error("ended failed");
          },
        };
      },
      connectionOpened: () => {
        throw new Error("connectionOpened failed");
      },
    };
    const server = await serveBlobService(new MemoryBlobService(), {
      listen: { port: 0 },
      observer: combineObservers(failing, recording),
      onError: (error) => errors.push(error),
    });
    const client = new GrpcBlobService(server.address);
    try {
      const writer = await client.openWrite();
      await writer.write(new Uint8Array(1000));
      await writer.close();
      expect(await client.has(DUMMY_DIGEST)).toBe(false);
    } finally {
      await client.close();
      await server.close();
    }
    const messages = errors.map((error) => ((error as Error).cause as Error).message);
    expect(messages).toContain("callStarted failed");
    expect(messages).toContain("ended failed");
    expect(messages).toContain("connectionOpened failed");
    // The other observer still heard the Put end (whose `ended` threw in the first observer); the
    // Stat, whose `callStarted` threw, went unobserved, as documented. Both calls succeeded above.
    expect(ended.map((call) => call.method)).toEqual(["Put"]);
  });
});
