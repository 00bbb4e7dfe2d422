// serveBlobService beyond the conformance suite: limits, errors, sockets, TLS, browsers' protocols,
// health and shutdown, each against a real server.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import {
  B3Digest,
  type BlobReader,
  type BlobWriter,
  digestOf,
  getBlob,
  isBackend,
  isInvalidArgument,
  isTooLarge,
  isUnavailable,
  putBlob,
} from "castore-core";
import { BaseBlobService } from "castore-core/backend";
import { BLOB_B, BLOB_C, checkBytes, DUMMY_DIGEST, HELLOWORLD, pseudoRandomBytes } from "castore-fixtures";
import { MemoryBlobService } from "castore-memory";
import { describe, expect, it } from "vitest";
import { GrpcBlobService } from "../src/client/blob-service.js";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../src/gen/grpc/health/v1/health_pb.js";
import { BlobService } from "../src/gen/tvix/castore/v1/castore_pb.js";
import { serveBlobService } from "../src/server/serve.js";
import { ObservedBlobService } from "./support/observed.js";
import { OnePieceBlobService } from "./support/one-piece.js";
import { listenOn, served, tempDir, testCertificate } from "./support/served.js";

const MiB = 1 << 20;

describe("limits", () => {
  it("advertises its stream limit, and its receive window once a stream is open", async () => {
    const castore = await served("tcp", { server: { maxConcurrentStreams: 7, streamWindowBytes: 2 * MiB } });
    const session = http2.connect(new URL(castore.server.address.replace("grpc+", "")).origin);
    const [settings] = (await once(session, "remoteSettings")) as [http2.Settings];
    expect(settings.maxConcurrentStreams).toBe(7);
    // Streams start small, so that many streams opened at once cannot make the server hold much...
    expect(settings.initialWindowSize).toBe(16 * 1024);
    const stream = session.request({ ":method": "POST", ":path": "/tvix.castore.v1.BlobService/Put" });
    stream.on("error", () => {});
    // ...and a stream alone on its connection gets the whole window.
    const [grown] = (await once(session, "remoteSettings")) as [http2.Settings];
    expect(grown.initialWindowSize).toBe(2 * MiB);
    stream.close();
    session.close();
    await castore.close();
  });

  it("a Put with messages over the server's limit fails with TooLarge and stores nothing; the server goes on", async () => {
    const castore = await served("unix", {
      server: { maxReceiveMessageBytes: 64 * 1024 },
      client: { messageBytes: 128 * 1024 },
    });
    const error = await putBlob(castore, pseudoRandomBytes(300_000, 3)).catch((e: unknown) => e);
    expect(isTooLarge(error), String(error)).toBe(true);
    expect(castore.backend.blobCount).toBe(0);
    expect(await castore.has(DUMMY_DIGEST)).toBe(false);
    await castore.close();
  });

  it("refuses limits that are not positive integers", async () => {
    for (const bad of [
      { readChunkBytes: 0 },
      { maxReceiveMessageBytes: 1.5 },
      { maxConcurrentStreams: -1 },
      { streamWindowBytes: 2 ** 31 },
      { connectionWindowBytes: 0 },
      { maxCalls: 0 },
      { maxConnections: 2.5 },
    ]) {
      const error = await serveBlobService(new MemoryBlobService(), { listen: { port: 0 }, ...bad }).catch(
        (e: unknown) => e,
      );
      expect(isInvalidArgument(error), String(error)).toBe(true);
    }
  });
});

/** A store that fails in ways castore does not know (a bug, a crashed disk). */
class BrokenBlobService extends BaseBlobService {
  protected async hasImpl(): Promise<boolean> {
    throw new Error("the disk is on fire");
  }
  protected async openReadImpl(): Promise<BlobReader | undefined> {
    throw new Error("the disk is on fire");
  }
  protected async openWriteImpl(): Promise<BlobWriter> {
    throw new Error("the disk is on fire");
  }
}

describe("errors", () => {
  it("an unexpected store error is INTERNAL without its details, and reaches onError", async () => {
    const seen: unknown[] = [];
    const castore = await served("tcp", { backend: new BrokenBlobService(), server: { onError: (e) => seen.push(e) } });
    const error = await castore.has(HELLOWORLD.digest).catch((e: unknown) => e);
    expect(isBackend(error), String(error)).toBe(true);
    expect(String(error)).toMatch(/internal error/);
    expect(String(error)).not.toMatch(/fire/);
    expect(await castore.openRead(HELLOWORLD.digest).catch((e: unknown) => String(e))).toMatch(/internal error/);
    expect(seen.map(String)).toEqual(["Error: the disk is on fire", "Error: the disk is on fire"]);
    await castore.close();
  });
});

describe("unix sockets", () => {
  it("replaces a socket file left behind by a server that is gone, and refuses one in use", async () => {
    const path = join(await tempDir(), "stale.sock");
    // A process that listens and exits without closing leaves its socket file behind.
    const child = spawn(process.execPath, [
      "-e",
      `require("node:net").createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`,
    ]);
    await once(child, "exit");
    expect(existsSync(path)).toBe(true);

    const backend = new MemoryBlobService();
    const server = await serveBlobService(backend, { listen: { path } });
    const error = await serveBlobService(backend, { listen: { path } }).catch((e: unknown) => e);
    expect((error as NodeJS.ErrnoException).code).toBe("EADDRINUSE");
    const client = new GrpcBlobService(server.address);
    expect(await client.has(DUMMY_DIGEST)).toBe(false);
    await client.close();
    await server.close();
    expect(existsSync(path)).toBe(false);
  });

  it("never deletes a file that is not a socket, even though connecting to it is refused too", async () => {
    const path = join(await tempDir(), "notes.txt");
    writeFileSync(path, "precious");
    const error = await serveBlobService(new MemoryBlobService(), { listen: { path } }).catch((e: unknown) => e);
    expect((error as NodeJS.ErrnoException).code).toBe("EADDRINUSE");
    expect(readFileSync(path, "utf8")).toBe("precious");
  });
});

describe("TLS", () => {
  it("serves gRPC over TLS to a client that trusts the certificate, and only to such a client", async () => {
    const { key, cert } = await testCertificate();
    const castore = await served("tcp", { server: { tls: { key, cert } }, client: { tls: { ca: cert } } });
    expect(castore.server.address).toMatch(/^grpc\+https:\/\/127\.0\.0\.1:\d+$/);
    expect((await putBlob(castore, BLOB_C.data)).equals(BLOB_C.digest)).toBe(true);
    checkBytes(await getBlob(castore, BLOB_C.digest), BLOB_C.data, "BLOB_C over TLS");

    const untrusting = new GrpcBlobService(castore.server.address);
    const error = await untrusting.has(BLOB_C.digest).catch((e: unknown) => e);
    expect(isBackend(error), String(error)).toBe(true);
    await untrusting.close();
    await castore.close();
  });
});

describe("browser protocols", () => {
  const transports = {
    "gRPC-Web over HTTP/1.1": (baseUrl: string) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
    "Connect over HTTP/1.1": (baseUrl: string) => createConnectTransport({ baseUrl, httpVersion: "1.1" }),
    "gRPC-Web over HTTP/2": (baseUrl: string) => createGrpcWebTransport({ baseUrl, httpVersion: "2" }),
    "Connect over HTTP/2": (baseUrl: string) => createConnectTransport({ baseUrl, httpVersion: "2" }),
  };

  it.each(Object.keys(transports) as (keyof typeof transports)[])("%s: Stat, Read and Put", async (name) => {
    const castore = await served("tcp", { server: { readChunkBytes: 300_000 } });
    const baseUrl = castore.server.address.replace("grpc+", "");
    const client = createClient(BlobService, transports[name](baseUrl));
    await putBlob(castore, BLOB_C.data);

    await client.stat({ digest: BLOB_C.digest.bytes });
    await expect(client.stat({ digest: DUMMY_DIGEST.bytes })).rejects.toMatchObject({ code: 5 }); // NotFound
    const pieces: Uint8Array[] = [];
    for await (const message of client.read({ digest: BLOB_C.digest.bytes })) {
      expect(message.data.length).toBeLessThanOrEqual(300_000);
      pieces.push(message.data);
    }
    checkBytes(Buffer.concat(pieces), BLOB_C.data, `BLOB_C read with ${name}`);
    const { digest } = await client.put(
      (async function* () {
        yield { data: BLOB_B.data.subarray(0, 1000) };
        yield { data: BLOB_B.data.subarray(1000) };
      })(),
    );
    expect(B3Digest.fromBytes(digest).equals(BLOB_B.digest)).toBe(true);
    expect(await castore.has(BLOB_B.digest)).toBe(true);
    await castore.close();
  });

  it("answers CORS preflights for allowed origins only", async () => {
    const castore = await served("tcp", { server: { cors: { allowedOrigins: ["https://app.example"] } } });
    const url = `${castore.server.address.replace("grpc+", "")}/tvix.castore.v1.BlobService/Read`;
    const preflight = (origin: string) =>
      fetch(url, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST" } });
    const allowed = await preflight("https://app.example");
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(allowed.headers.get("access-control-allow-headers")).toMatch(/x-grpc-web/i);
    const refused = await preflight("https://elsewhere.example");
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
    await castore.close();
  });
});

describe("health", () => {
  it("reports SERVING for the server and both service names, and NOT_SERVING to watchers on shutdown", async () => {
    const castore = await served("tcp", { server: { health: true } });
    const health = createClient(Health, createGrpcTransport({ baseUrl: castore.server.address.replace("grpc+", "") }));
    for (const service of ["", "tvix.castore.v1.BlobService", "snix.castore.v1.BlobService"]) {
      expect((await health.check({ service })).status).toBe(Status.SERVING);
    }
    await expect(health.check({ service: "nope.v1.Nothing" })).rejects.toMatchObject({ code: 5 });

    const statuses: Status[] = [];
    const watching = (async () => {
      for await (const { status } of health.watch({ service: "" })) statuses.push(status);
    })();
    while (statuses.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await castore.server.close();
    await watching;
    expect(statuses).toEqual([Status.SERVING, Status.NOT_SERVING]);
    await castore.close();
  });

  it("is not served unless asked for", async () => {
    const castore = await served("tcp");
    const health = createClient(Health, createGrpcTransport({ baseUrl: castore.server.address.replace("grpc+", "") }));
    await expect(health.check({ service: "" })).rejects.toMatchObject({ code: 12 }); // Unimplemented
    await castore.close();
  });
});

describe("graceful shutdown", () => {
  it("closes while clients are hanging up their connections at the same moment", async () => {
    // A session the client has just destroyed is still in the server's set until its 'close'
    // event; sending it a GOAWAY then throws, which used to reject close().
    for (let round = 0; round < 30; round++) {
      const server = await serveBlobService(new MemoryBlobService(), { listen: { host: "127.0.0.1", port: 0 } });
      const origin = server.address.replace("grpc+http", "http");
      const clients = Array.from({ length: 8 }, () => http2.connect(origin));
      await Promise.all(clients.map((client) => once(client, "remoteSettings")));
      // Hang up at slightly different moments relative to close(), to land inside the window.
      for (const [i, client] of clients.entries()) setTimeout(() => client.destroy(), (round + i) % 4);
      await new Promise((resolve) => setTimeout(resolve, round % 3));
      await server.close({ timeoutMs: 1_000 });
    }
  });

  it.each(["unix", "tcp"] as const)(
    "over %s, lets a running Read finish and accepts nothing new",
    async (transport) => {
      // One Read stream: a store without chunk lists. (A chunked read is a call per chunk, and the
      // calls it starts after the shutdown began are refused like any new call.) Small client
      // windows, so the server cannot have sent the blob ahead before close() starts: the Read
      // really runs during the shutdown, with data far from any timeout.
      const windows = { streamWindowBytes: 64 * 1024, connectionWindowBytes: 64 * 1024 };
      const castore = await served(transport, { backend: new OnePieceBlobService(), client: windows });
      const big = pseudoRandomBytes(8 * MiB, 31);
      const digest = await putBlob(castore, big);
      const reader = await castore.openRead(digest);
      const head = await reader?.read();
      const closing = castore.server.close({ timeoutMs: 30_000 });
      const rest: Uint8Array[] = [head as Uint8Array];
      for (;;) {
        const chunk = await reader?.read();
        if (!chunk) break;
        rest.push(chunk);
      }
      checkBytes(Buffer.concat(rest), big, "the blob read while the server shuts down");
      await closing;
      const late = new GrpcBlobService(castore.server.address);
      expect(isUnavailable(await late.has(digest).catch((e: unknown) => e))).toBe(true);
      await late.close();
      await castore.close();
    },
  );

  it.each(["unix", "tcp"] as const)(
    "over %s, stores a Put that ends while the server shuts down",
    async (transport) => {
      const castore = await served(transport, { backend: new ObservedBlobService() });
      const blob = pseudoRandomBytes(3 * MiB, 33);
      const writer = await castore.openWrite();
      await writer.write(blob.subarray(0, 2 * MiB));
      // The call must be running when the shutdown starts (the store has taken bytes of it).
      for (let i = 0; castore.backend.bytesTaken < MiB; i++) {
        if (i > 1500) throw new Error("the server took no bytes of the Put");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const closing = castore.server.close({ timeoutMs: 30_000 });
      await writer.write(blob.subarray(2 * MiB));
      const digest = await writer.close();
      expect(digest.equals(await digestOf(blob))).toBe(true);
      await closing;
      expect(await castore.backend.has(digest)).toBe(true);
      await castore.close();
    },
  );

  it("cancels calls still running at the timeout: a stalled Put stores nothing", async () => {
    const castore = await served("tcp", { backend: new ObservedBlobService() });
    castore.backend.hold();
    const writer = await castore.openWrite();
    await writer.write(pseudoRandomBytes(3 * MiB, 32));
    // Returns although the Put never finishes: the timeout cancels it.
    await castore.server.close({ timeoutMs: 300 });
    castore.backend.release();
    // UNAVAILABLE, not CANCELLED: the client did not cancel, and may retry elsewhere.
    const error = await writer.close().catch((e: unknown) => e);
    expect(isUnavailable(error), String(error)).toBe(true);
    expect(String(error)).toMatch(/shutting down/);
    expect(castore.backend.writersClosed).toBe(0);
    expect(castore.backend.blobCount).toBe(0);
    await castore.close();
  });

  it("close() is idempotent and leaves the store open", async () => {
    const backend = new MemoryBlobService();
    const server = await serveBlobService(backend, { listen: await listenOn("unix") });
    await Promise.all([server.close(), server.close()]);
    await server.close();
    expect(await backend.has(await digestOf(HELLOWORLD.data))).toBe(false);
    await backend.close();
  });
});

describe("compression", () => {
  it("refuses a compressed gRPC request to any method with UNIMPLEMENTED, naming identity as what it accepts", async () => {
    const castore = await served("tcp");
    const session = http2.connect(new URL(castore.server.address.replace("grpc+", "")).origin);
    for (const method of ["Stat", "Read", "Put"]) {
      const stream = session.request({
        ":method": "POST",
        ":path": `/tvix.castore.v1.BlobService/${method}`,
        "content-type": "application/grpc",
        "grpc-encoding": "gzip",
        te: "trailers",
      });
      stream.end(Buffer.from([1, 0, 0, 0, 0]));
      const [headers] = (await once(stream, "response")) as [http2.IncomingHttpHeaders];
      stream.resume();
      const [trailers] = (await once(stream, "trailers")) as [http2.IncomingHttpHeaders];
      expect(headers["grpc-accept-encoding"], method).toBe("identity");
      expect(trailers["grpc-status"], method).toBe("12");
      expect(decodeURIComponent(String(trailers["grpc-message"])), method).toMatch(/supported encodings are identity$/);
    }
    session.close();
    await castore.close();
  });
});
