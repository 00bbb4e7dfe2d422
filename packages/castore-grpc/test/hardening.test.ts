// What hostile or broken clients send must never take the server down, reach the store when it
// should not, or hold resources for ever. Timeouts here are tiny options; tests wait for the event.

import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import * as http2 from "node:http2";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import {
  type B3Digest,
  type BlobReader,
  defaultRegistry,
  fromAddr,
  getBlob,
  isTooLarge,
  putBlob,
  register,
  TooLargeError,
  UnavailableError,
} from "castore-core";
import { concatBytes } from "castore-core/backend";
import { pseudoRandomBytes } from "castore-fixtures";
import { afterEach, describe, expect, it } from "vitest";
import { grpcBackends } from "../src/client/backends.js";
import { GrpcBlobService } from "../src/client/blob-service.js";
import { BlobService, ReadBlobRequestSchema } from "../src/gen/tvix/castore/v1/castore_pb.js";
import { DEFAULT_MESSAGE_BYTES } from "../src/protocol.js";
import { heldWhileServing } from "../src/server/blob-calls.js";
import type { RefusalReason, ServerObserver } from "../src/server/observer.js";
import { blobChunkFrameHeader, encodeFrame } from "../src/wire/frames.js";
import { ObservedBlobService } from "./support/observed.js";
import { closedByServer, connectRaw, exchange } from "./support/raw.js";
import { type ServedClient, served, tempDir } from "./support/served.js";

const statJson = (host: string | undefined, httpVersion = "1.1", method = "POST") =>
  [
    `${method} /tvix.castore.v1.BlobService/Stat HTTP/${httpVersion}`,
    ...(host === undefined ? [] : [`Host: ${host}`]),
    "Content-Type: application/json",
    "Content-Length: 2",
    "Connection: close",
    "",
    "{}",
  ].join("\r\n");

let castore: ServedClient & { backend: ObservedBlobService };
afterEach(async () => {
  await castore?.close();
});

/** A native gRPC call to the served BlobService on a connection of its own, nothing sent yet. */
function rawGrpcCall(method: "Put" | "Read", headers: http2.OutgoingHttpHeaders = {}) {
  const session = http2.connect(castore.server.address.replace("grpc+", ""));
  const stream = session.request({
    ":method": "POST",
    ":path": `/tvix.castore.v1.BlobService/${method}`,
    "content-type": "application/grpc",
    te: "trailers",
    ...headers,
  });
  return { session, stream };
}

function hostPort(address: string): string {
  return new URL(address.replace("grpc+", "")).host;
}

describe("a request without a Host (curl -0 -H 'Host:')", () => {
  it.each(["Stat", "Put", "Read"])("to %s, with every method, is answered and the server lives on", async (call) => {
    castore = await served("tcp", { backend: new ObservedBlobService(), server: { allowedHosts: "*", health: true } });
    for (const method of ["GET", "POST", "OPTIONS"]) {
      for (const path of [`/tvix.castore.v1.BlobService/${call}`, "/grpc.health.v1.Health/Check"]) {
        const request = `${method} ${path} HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`;
        const answer = await exchange(castore.server.address, request);
        expect(answer, `${method} ${path}`).toMatch(/^HTTP\/1\.[01] [45]\d\d/);
      }
    }
    expect(await castore.has(new Uint8Array(32).fill(1) as never).catch(() => "failed")).toBe(false);
  });

  it("is refused with 421 when the Host check is on (the default)", async () => {
    castore = await served("tcp", { backend: new ObservedBlobService() });
    expect(await exchange(castore.server.address, statJson(undefined, "1.0"))).toMatch(/^HTTP\/1\.[01] 421/);
  });
});

describe("the Host check (DNS rebinding)", () => {
  const putJson = (host: string) =>
    [
      "POST /tvix.castore.v1.BlobService/Put HTTP/1.1",
      `Host: ${host}`,
      "Content-Type: application/connect+json",
      "Content-Length: 20",
      "Connection: close",
      "",
      '\u0000\u0000\u0000\u0000\u000f{"data":"aGk="}',
    ].join("\r\n");

  it("refuses a Connect Put naming another host with 421 and stores nothing", async () => {
    castore = await served("tcp", { backend: new ObservedBlobService() });
    const port = new URL(castore.server.address.replace("grpc+", "")).port;
    const answer = await exchange(castore.server.address, putJson(`evil.example:${port}`));
    expect(answer).toMatch(/^HTTP\/1\.1 421/);
    expect(answer).toContain("permission_denied");
    expect(castore.backend.writersClosed + castore.backend.writersAborted).toBe(0);
    expect(castore.backend.blobCount).toBe(0);
    // The same request with an allowed name is served.
    expect(await exchange(castore.server.address, putJson(`localhost:${port}`))).toMatch(/^HTTP\/1\.1 200/);
    expect(castore.backend.blobCount).toBe(1);
  });

  it("refuses gRPC with another :authority as PERMISSION_DENIED", async () => {
    castore = await served("tcp", { backend: new ObservedBlobService() });
    const session = http2.connect(castore.server.address.replace("grpc+", ""));
    const stream = session.request({
      ":method": "POST",
      ":path": "/tvix.castore.v1.BlobService/Put",
      ":authority": "evil.example",
      "content-type": "application/grpc",
    });
    const [headers] = (await once(stream, "response")) as [http2.IncomingHttpHeaders];
    expect(headers["grpc-status"]).toBe(String(Code.PermissionDenied));
    stream.resume();
    session.close();
    expect(castore.backend.writersClosed + castore.backend.writersAborted).toBe(0);
  });

  it("a refused Connect call whose client opens no window (its error body cannot go) is reset after the stall timeout", async () => {
    castore = await served("tcp", { backend: new ObservedBlobService(), server: { stalledBodyTimeoutMs: 300 } });
    const session = http2.connect(castore.server.address.replace("grpc+", ""), { settings: { initialWindowSize: 0 } });
    session.on("error", () => {});
    const stream = session.request({
      ":method": "POST",
      ":path": "/tvix.castore.v1.BlobService/Stat",
      ":authority": "evil.example",
      "content-type": "application/json",
    });
    stream.on("error", () => {});
    stream.write("{");
    const [headers] = (await once(stream, "response")) as [http2.IncomingHttpHeaders];
    expect(headers[":status"]).toBe(421);
    if (!stream.closed) await once(stream, "close");
    expect(stream.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
    session.destroy();
  });

  it("serves names added with allowedHosts, and any name with '*'", async () => {
    castore = await served("tcp", { backend: new ObservedBlobService(), server: { allowedHosts: ["proxy.example"] } });
    expect(await exchange(castore.server.address, statJson("proxy.example"))).toMatch(/^HTTP\/1\.1 400/);
    expect(await exchange(castore.server.address, statJson("other.example"))).toMatch(/^HTTP\/1\.1 421/);
    await castore.close();
    castore = await served("tcp", { backend: new ObservedBlobService(), server: { allowedHosts: "*" } });
    expect(await exchange(castore.server.address, statJson("other.example"))).toMatch(/^HTTP\/1\.1 400/);
  });

  it("answers on loopback names with the port: localhost, 127.0.0.1, [::1]", async () => {
    castore = await served("tcp", { backend: new ObservedBlobService() });
    const port = new URL(castore.server.address.replace("grpc+", "")).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
      expect(await exchange(castore.server.address, statJson(host)), host).not.toMatch(/^HTTP\/1\.1 421/);
    }
    expect(await exchange(castore.server.address, statJson("localhost:1"))).toMatch(/^HTTP\/1\.1 421/);
  });
});

describe("the bearer token", () => {
  const token = "s3cret-token";

  it("is required on every call but health checks; a wrong or missing one touches nothing", async () => {
    castore = await served("tcp", {
      backend: new ObservedBlobService(),
      server: { authToken: token, health: true },
      client: { authToken: token },
    });
    const digest = await putBlob(castore, pseudoRandomBytes(100_000, 1));
    expect(await castore.has(digest)).toBe(true);
    for (const authToken of [undefined, "wrong"]) {
      const stranger = new GrpcBlobService(castore.server.address, { authToken });
      await expect(stranger.has(digest)).rejects.toThrow(/bearer token/);
      await expect(stranger.openRead(digest)).rejects.toThrow(/bearer token/);
      await expect(putBlob(stranger, pseudoRandomBytes(1000, 2))).rejects.toThrow(/bearer token/);
      // Turned away mid-upload (more than its first messages): fails at once, does not hang.
      await expect(putBlob(stranger, pseudoRandomBytes(4 << 20, 2))).rejects.toThrow(/bearer token/);
      await stranger.close();
    }
    expect(castore.backend.writersClosed).toBe(1);
    expect(castore.backend.writersAborted).toBe(0);
    const baseUrl = castore.server.address.replace("grpc+", "");
    const connect = createClient(BlobService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
    const error = await connect.stat({ digest: digest.bytes }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(error?.code).toBe(Code.Unauthenticated);
    const health = await fetch(`${baseUrl}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(await health.json()).toEqual({ status: "SERVING" });
    // Watch, which never ends, needs the token: only Check is for anyone.
    const session = http2.connect(baseUrl);
    session.on("error", () => {});
    const watch = session.request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Watch",
      "content-type": "application/grpc",
    });
    watch.end(encodeFrame(new Uint8Array(0)));
    const [headers] = (await once(watch, "response")) as [http2.IncomingHttpHeaders];
    expect(headers["grpc-status"]).toBe(String(Code.Unauthenticated));
    session.destroy();
  });

  it("reaches the server from ?auth-token-file= or CASTORE_AUTH_TOKEN", async () => {
    castore = await served("tcp", { backend: new ObservedBlobService(), server: { authToken: token } });
    if (!defaultRegistry.get("grpc+http")) register(...grpcBackends);
    const file = join(await tempDir(), "token");
    await writeFile(file, `${token}\n`, { mode: 0o600 });
    const byFile = await fromAddr(`${castore.server.address}?auth-token-file=${encodeURIComponent(file)}`);
    await putBlob(byFile, pseudoRandomBytes(1000, 3));
    await byFile.close();
    process.env.CASTORE_AUTH_TOKEN = token;
    try {
      const byEnv = await fromAddr(castore.server.address);
      await putBlob(byEnv, pseudoRandomBytes(1000, 4));
      await byEnv.close();
    } finally {
      delete process.env.CASTORE_AUTH_TOKEN;
    }
    expect(castore.backend.blobCount).toBe(2);
  });
});

describe("connections that hold on without finishing a request", () => {
  const limits = { headersTimeoutMs: 300, idleTimeoutMs: 300 };
  const shapes: Array<[string, string | Buffer]> = [
    ["'PRI ' and nothing more", "PRI "],
    ["the HTTP/2 preface and nothing more", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"],
    ["HTTP/1.1 headers never finished", "POST /tvix.castore.v1.BlobService/Stat HTTP/1.1\r\nHost: x"],
    ["nothing at all", ""],
  ];

  it.each(shapes)("are closed by the server: %s", async (_, bytes) => {
    castore = await served("tcp", { backend: new ObservedBlobService(), server: limits });
    const socket = await connectRaw(castore.server.address);
    socket.write(bytes);
    await closedByServer(socket);
  });

  it("an HTTP/2 connection with no open stream is closed once idle", async () => {
    castore = await served("tcp", { backend: new ObservedBlobService(), server: limits });
    const session = http2.connect(castore.server.address.replace("grpc+", ""));
    session.on("error", () => {});
    const closed = once(session, "close");
    const stream = session.request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Check",
      "content-type": "application/grpc",
    });
    stream.end(Buffer.alloc(5));
    stream.resume();
    await once(stream, "close");
    await closed;
  });

  it("a stalled Put body fails with DEADLINE_EXCEEDED and stores nothing", async () => {
    castore = await served("tcp", { backend: new ObservedBlobService(), server: { stalledBodyTimeoutMs: 300 } });
    const { session, stream } = rawGrpcCall("Put");
    const data = pseudoRandomBytes(200_000, 5);
    stream.write(concatBytes([blobChunkFrameHeader(data.length), data]));
    stream.resume();
    const [trailers] = (await once(stream, "trailers")) as [http2.IncomingHttpHeaders];
    expect(trailers["grpc-status"]).toBe(String(Code.DeadlineExceeded));
    session.close();
    expect(castore.backend.writersClosed).toBe(0);
    expect(castore.backend.blobCount).toBe(0);
  });

  it("a stalled Connect Put (HTTP/1.1) ends the same way", async () => {
    castore = await served("tcp", { backend: new ObservedBlobService(), server: { stalledBodyTimeoutMs: 300 } });
    const socket = await connectRaw(castore.server.address);
    socket.write(
      `POST /tvix.castore.v1.BlobService/Put HTTP/1.1\r\nHost: ${hostPort(castore.server.address)}\r\n` +
        "Content-Type: application/connect+json\r\nContent-Length: 1000\r\n\r\n\u0000\u0000\u0000",
    );
    await closedByServer(socket);
    expect(castore.backend.writersClosed).toBe(0);
  });

  it("connections beyond maxConnections are closed as they come", async () => {
    castore = await served("tcp", { backend: new ObservedBlobService(), server: { maxConnections: 2 } });
    const held = [await connectRaw(castore.server.address), await connectRaw(castore.server.address)];
    await closedByServer(await connectRaw(castore.server.address));
    for (const socket of held) socket.destroy();
  });
});

describe("calls beyond maxCalls", () => {
  it("are refused as UNAVAILABLE and touch nothing; health checks pass; a call passes once one ends", async () => {
    const refusals: RefusalReason[] = [];
    const readsEnded = Promise.withResolvers<void>();
    const observer: ServerObserver = {
      refused: (reason) => refusals.push(reason),
      callStarted: (call) => ({ ended: () => (call.method === "Read" ? readsEnded.resolve() : undefined) }),
    };
    castore = await served("tcp", {
      backend: new ObservedBlobService(),
      server: { maxCalls: 2, health: true, observer },
    });
    const digest = await putBlob(castore, pseudoRandomBytes(8 << 20, 27));
    // Two Reads whose clients take nothing hold both calls the server takes.
    const bothOpen = Promise.withResolvers<void>();
    castore.backend.onReaderOpened = () => {
      if (castore.backend.readersOpened === 2) bothOpen.resolve();
    };
    const request = encodeFrame(
      toBinary(ReadBlobRequestSchema, create(ReadBlobRequestSchema, { digest: digest.bytes })),
    );
    const held = [rawGrpcCall("Read"), rawGrpcCall("Read")];
    for (const { stream } of held) {
      stream.on("error", () => {});
      stream.end(request);
      stream.pause();
    }
    await bothOpen.promise;

    // gRPC: UNAVAILABLE, which castore's client reports as worth a retry later.
    const error = await castore.has(digest).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(String(error)).toMatch(/as many calls as it takes/);
    // The Connect protocol: HTTP 503, and the HTTP/1.1 connection closes.
    const answer = await exchange(castore.server.address, statJson(hostPort(castore.server.address)));
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
    expect(answer).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(answer).toContain('"code":"unavailable"');
    // Health calls have places of their own: an orchestrator sees a full server as alive.
    const health = await fetch(`${castore.server.address.replace("grpc+", "")}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(await health.json()).toEqual({ status: "SERVING" });
    // A refused call whose client goes on sending is closed (RST_STREAM NO_ERROR after the answer):
    // refused streams hold nothing until their clients end them.
    const refused = rawGrpcCall("Put");
    refused.stream.on("error", () => {});
    refused.stream.write(blobChunkFrameHeader(10));
    refused.stream.resume();
    const [headers] = (await once(refused.stream, "response")) as [http2.IncomingHttpHeaders];
    expect(headers["grpc-status"]).toBe(String(Code.Unavailable));
    expect(headers["grpc-retry-pushback-ms"]).toBe("1000");
    if (!refused.stream.closed) await once(refused.stream, "close");
    expect(refused.stream.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
    refused.session.destroy();
    // castore's own client, mid-Put when it is turned away, fails at once instead of waiting on a
    // stream that nobody reads.
    const put = await putBlob(castore, pseudoRandomBytes(4 << 20, 28)).catch((e: unknown) => e);
    expect(put).toBeInstanceOf(UnavailableError);
    expect(refusals).toEqual(["max-calls", "max-calls", "max-calls", "max-calls"]);
    expect(castore.backend.readersOpened).toBe(2);
    expect(castore.backend.writersClosed).toBe(1); // the setup's Put: the refused one opened none
    expect(castore.backend.writersAborted).toBe(0);

    // One held Read ends: its place is free for the next call.
    held[0]?.session.destroy();
    await readsEnded.promise;
    expect(await castore.has(digest)).toBe(true);
    held[1]?.session.destroy();
  });

  /** Health calls on one connection of their own, as an orchestrator (or a flood of them) sends them. */
  const healthCalls = () => {
    const session = http2.connect(castore.server.address.replace("grpc+", ""));
    session.on("error", () => {});
    /** A call whose request is `body` (an empty message unless given), ended unless `end` is false. */
    const call = (method: "Check" | "Watch", end = true, body = encodeFrame(new Uint8Array(0))) => {
      const stream = session.request({
        ":method": "POST",
        ":path": `/grpc.health.v1.Health/${method}`,
        "content-type": "application/grpc",
      });
      stream.on("error", () => {});
      if (end) stream.end(body);
      else stream.write(body);
      return stream;
    };
    return { session, call };
  };

  it("health checks have places of their own, which a flood of them cannot take from other calls", async () => {
    castore = await served("tcp", { backend: new ObservedBlobService(), server: { maxCalls: 1, health: true } });
    const { session, call } = healthCalls();
    // 64 Checks whose requests never end hold every health check's place; the server takes a
    // connection's requests in order, so the 65th finds them all in progress.
    for (let i = 0; i < 64; i++) call("Check", false);
    const [refused] = (await once(call("Check"), "response")) as [http2.IncomingHttpHeaders];
    expect(refused["grpc-status"]).toBe(String(Code.Unavailable));
    // The server's one other place is free: a blob call passes.
    expect(await castore.has(new Uint8Array(32).fill(1) as never)).toBe(false);
    session.destroy();
  });

  it("a health check must arrive whole within the stall timeout: trickling bytes does not hold its place", async () => {
    castore = await served("tcp", {
      backend: new ObservedBlobService(),
      server: { health: true, stalledBodyTimeoutMs: 300 },
    });
    const { session, call } = healthCalls();
    // A Check whose message (10,000 bytes, says its frame) comes one byte every 50 ms: each byte
    // would restart a blob call's stall clock, and 64 such clients would hold every health check's
    // place. The server cuts it off (the stream reset, CANCEL) before it ends.
    const trickled = call("Check", false, new Uint8Array([0, 0, 0, 0x27, 0x10]));
    const trickle = setInterval(() => {
      if (!trickled.closed) trickled.write(new Uint8Array(1));
    }, 50);
    try {
      await once(trickled, "close");
      expect(trickled.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
    } finally {
      clearInterval(trickle);
    }
    // A check that arrives whole is answered.
    const check = call("Check");
    check.resume();
    const [trailers] = (await once(check, "trailers")) as [http2.IncomingHttpHeaders];
    expect(trailers["grpc-status"]).toBe("0");
    session.destroy();
  });

  it("Watch, which never ends, takes one of the server's places like any other call", async () => {
    castore = await served("tcp", { backend: new ObservedBlobService(), server: { maxCalls: 1, health: true } });
    const { session, call } = healthCalls();
    await once(call("Watch"), "response"); // its first status is out: it holds the one place
    await expect(castore.has(new Uint8Array(32).fill(1) as never)).rejects.toBeInstanceOf(UnavailableError);
    // Health checks still pass.
    const check = call("Check");
    check.resume();
    const [trailers] = (await once(check, "trailers")) as [http2.IncomingHttpHeaders];
    expect(trailers["grpc-status"]).toBe("0");
    session.destroy();
  });
});

describe("statuses", () => {
  it("honours grpc-timeout on Put", async () => {
    castore = await served("tcp", { backend: new ObservedBlobService() });
    const { session, stream } = rawGrpcCall("Put", { "grpc-timeout": "200m" });
    stream.write(blobChunkFrameHeader(10));
    stream.resume();
    const [trailers] = (await once(stream, "trailers")) as [http2.IncomingHttpHeaders];
    expect(trailers["grpc-status"]).toBe(String(Code.DeadlineExceeded));
    session.close();
    expect(castore.backend.writersClosed).toBe(0);
  });

  it("honours grpc-timeout on Read (a request that never ends)", async () => {
    castore = await served("tcp", { backend: new ObservedBlobService() });
    const { session, stream } = rawGrpcCall("Read", { "grpc-timeout": "200m" });
    stream.write(Buffer.from([0, 0, 0, 0, 34]));
    stream.resume();
    const [trailers] = (await once(stream, "trailers")) as [http2.IncomingHttpHeaders];
    expect(trailers["grpc-status"]).toBe(String(Code.DeadlineExceeded));
    session.close();
  });

  it("a Read whose client takes none of the answer ends after the stall timeout and closes its reader", async () => {
    const refused = Promise.withResolvers<unknown>();
    castore = await served("tcp", {
      backend: new ObservedBlobService(),
      server: { stalledBodyTimeoutMs: 300, onClientError: (error) => refused.resolve(error) },
    });
    // Far larger than the client's HTTP/2 window: the server cannot send it all ahead.
    const digest = await putBlob(castore, pseudoRandomBytes(8 << 20, 24));
    const { session, stream } = rawGrpcCall("Read");
    stream.end(encodeFrame(toBinary(ReadBlobRequestSchema, create(ReadBlobRequestSchema, { digest: digest.bytes }))));
    stream.pause(); // reads nothing: flow control stops the server's sending
    const error = await refused.promise;
    expect(error).toMatchObject({ code: Code.DeadlineExceeded });
    expect(String(error)).toMatch(/took none of the response for 300 ms/);
    // The call ended after its reader was closed.
    expect(castore.backend.readersClosed).toBe(1);
    expect(castore.backend.bytesRead).toBeLessThan(8 << 20);
    // And its stream was reset: what waited in it for the client is dropped, not kept for ever.
    if (!stream.closed) await once(stream, "close");
    expect(stream.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
    session.destroy();
  });

  it("a Connect Read whose client takes none of the answer is cut off after the stall timeout", async () => {
    castore = await served("tcp", { backend: new ObservedBlobService(), server: { stalledBodyTimeoutMs: 300 } });
    // Far more than the socket buffers of loopback take in ahead of a client that reads nothing.
    const digest = await putBlob(castore, pseudoRandomBytes(32 << 20, 26));
    const closed = new Promise<void>((resolve) => {
      castore.backend.onReaderClosed = resolve;
    });
    const socket = await connectRaw(castore.server.address);
    socket.pause(); // reads nothing
    const body = encodeFrame(toBinary(ReadBlobRequestSchema, create(ReadBlobRequestSchema, { digest: digest.bytes })));
    socket.write(
      [
        "POST /tvix.castore.v1.BlobService/Read HTTP/1.1",
        `Host: ${hostPort(castore.server.address)}`,
        "Content-Type: application/connect+proto",
        "Connect-Protocol-Version: 1",
        `Content-Length: ${body.length}`,
        "",
        "",
      ].join("\r\n"),
    );
    socket.write(body);
    // The server gives up on it: the call ends, its reader closed, most of the blob never read.
    await closed;
    expect(castore.backend.readersClosed).toBe(1);
    expect(castore.backend.bytesRead).toBeLessThan(32 << 20);
    socket.destroy();
  });

  /** A whole blob read with the Connect protocol over HTTP/1.1 (the server's other Read path). */
  const connectRead = async (digest: B3Digest) => {
    const baseUrl = castore.server.address.replace("grpc+", "");
    const connect = createClient(BlobService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
    const parts: Uint8Array[] = [];
    for await (const message of connect.read({ digest: digest.bytes })) parts.push(message.data);
    return concatBytes(parts);
  };

  it.each([
    ["native gRPC (the castore client)", (digest: B3Digest) => getBlob(castore, digest)],
    ["the Connect protocol", connectRead],
  ])(
    "Reads whose client takes nothing hold no more than the byte budget: the next one, by %s, waits",
    async (_, read) => {
      // Found: 500 such Reads of a 32 MiB chunked blob took a daemon from 90 MiB to 1 GiB, each holding
      // its reader's read-ahead outside the budget. Now serving a reader is charged before it is read.
      const backend = new ObservedBlobService();
      const blob = pseudoRandomBytes(8 << 20, 25);
      const digest = await putBlob(backend, blob);
      const probe = (await backend.openRead(digest)) as BlobReader;
      const held = heldWhileServing(probe, DEFAULT_MESSAGE_BYTES);
      await probe.close();
      expect(probe.maxHeldBytes).toBeGreaterThan(0); // the memory store's chunked reader
      // A data budget (half of maxBufferedBytes) for two such Reads, and not a third.
      castore = await served("tcp", { backend, server: { maxBufferedBytes: 4 * held } });
      const tiny = await putBlob(castore, new Uint8Array([1, 2, 3]));
      const request = encodeFrame(
        toBinary(ReadBlobRequestSchema, create(ReadBlobRequestSchema, { digest: digest.bytes })),
      );
      const stalled = [rawGrpcCall("Read"), rawGrpcCall("Read")];
      for (const { stream } of stalled) {
        stream.end(request);
        stream.pause(); // reads nothing: flow control stops the server's sending
      }
      await Promise.all(stalled.map(({ stream }) => once(stream, "response")));
      // A third Read of it, by the castore client: its reader is opened, then it waits for the budget.
      const opened = backend.readersOpened;
      const thirdOpened = new Promise<void>((resolve) => {
        backend.onReaderOpened = () => backend.readersOpened > opened && resolve();
      });
      let thirdDone = false;
      const third = read(digest).finally(() => {
        thirdDone = true;
      });
      third.catch(() => {}); // awaited below; a failure before that must not go unhandled
      await thirdOpened;
      // Anything the server does next comes after the third Read reached the budget: a small Read
      // passes (a call's first bytes are free), while the third has read nothing.
      expect([...((await getBlob(castore, tiny)) as Uint8Array)]).toEqual([1, 2, 3]);
      expect(backend.readersRead).toBe(3); // the two stalled Reads and the small one, not the third
      expect(thirdDone).toBe(false);
      // It waits without holding a reader (an open reader holds the blob's chunk list).
      expect(backend.readersOpened - backend.readersClosed).toBe(2);
      // One stalled Read gives up: its share of the budget goes to the third, which reads it all.
      stalled[0]?.stream.close(http2.constants.NGHTTP2_CANCEL);
      expect(Buffer.from((await third) as Uint8Array).equals(blob)).toBe(true);
      for (const { session } of stalled) session.destroy();
    },
  );

  it("a store that is out of room (TooLarge) makes a Put RESOURCE_EXHAUSTED, not INTERNAL", async () => {
    const internal: unknown[] = [];
    const full = new ObservedBlobService();
    full.openWrite = async () => {
      throw new TooLargeError("no space left on the device");
    };
    castore = await served("tcp", { backend: full, server: { onError: (e) => internal.push(e) } });
    const error = await putBlob(castore, pseudoRandomBytes(1000, 9)).catch((e: unknown) => e);
    expect(isTooLarge(error), String(error)).toBe(true);
    expect(String(error)).toMatch(/no space left/);
    expect(internal).toEqual([]);
  });

  it("a malformed Read request is INVALID_ARGUMENT, not an internal error", async () => {
    const internal: unknown[] = [];
    castore = await served("tcp", { backend: new ObservedBlobService(), server: { onError: (e) => internal.push(e) } });
    const { session, stream } = rawGrpcCall("Read");
    stream.end(Buffer.from([0, 0, 0, 0, 3, 0x0a, 0x7f, 0x00])); // field 1 claims 127 bytes, has 1
    stream.resume();
    const [trailers] = (await once(stream, "trailers")) as [http2.IncomingHttpHeaders];
    expect(trailers["grpc-status"]).toBe(String(Code.InvalidArgument));
    expect(internal).toEqual([]);
    session.close();
  });
});
