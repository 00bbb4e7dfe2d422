// A Put whose client cancels or goes away stores nothing; a reader closed early ends the server's read.
import * as http2 from "node:http2";
import * as net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { digestOf, isAborted, putBlob } from "castore-core";
import { concatBytes } from "castore-core/backend";
import { pseudoRandomBytes } from "castore-fixtures";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseGrpcAddress } from "../src/client/address.js";
import { BlobService } from "../src/gen/tvix/castore/v1/castore_pb.js";
import { blobChunkFrameHeader } from "../src/wire/frames.js";
import { grpcJsClient } from "./support/grpc-js.js";
import { ObservedBlobService } from "./support/observed.js";
import { type ServedClient, served } from "./support/served.js";

const MiB = 1 << 20;
const data = pseudoRandomBytes(6 * MiB, 21);

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1500; i++) {
    if (condition()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting until ${what}`);
}

let castore: ServedClient & { backend: ObservedBlobService };
afterEach(async () => {
  await castore.close();
});

/** A Put on plain node:http2, for what castore's client never does (break a connection, send a truncated message). */
function rawPut(address: string): { session: http2.ClientHttp2Session; stream: http2.ClientHttp2Stream } {
  const { origin, socketPath } = parseGrpcAddress(address);
  const session = http2.connect(origin, socketPath ? { createConnection: () => net.connect(socketPath) } : {});
  return { session, stream: rawPutOn(session) };
}

function rawPutOn(session: http2.ClientHttp2Session): http2.ClientHttp2Stream {
  return session.request({
    ":method": "POST",
    ":path": "/tvix.castore.v1.BlobService/Put",
    "content-type": "application/grpc",
    te: "trailers",
  });
}

/** Checks that the server aborted its writer after taking some bytes, and stored nothing. */
async function expectNothingStored(): Promise<void> {
  await until(() => castore.backend.writersAborted === 1, "the server aborts its writer");
  expect(castore.backend.writersClosed).toBe(0);
  expect(castore.backend.blobCount).toBe(0);
  expect(await castore.has(await digestOf(data))).toBe(false);
}

describe.each(["unix", "tcp"] as const)("cancelling a Put over %s", (transport) => {
  it("aborting castore's writer mid-Put stores nothing", async () => {
    castore = await served(transport, { backend: new ObservedBlobService() });
    const writer = await castore.openWrite();
    await writer.write(data.subarray(0, 3 * MiB));
    await until(() => castore.backend.bytesTaken >= MiB, "the server has taken bytes");
    await writer.abort();
    await expectNothingStored();
  });

  it("an AbortSignal firing during a write stores nothing", async () => {
    castore = await served(transport, { backend: new ObservedBlobService() });
    const controller = new AbortController();
    const pieces = (async function* () {
      for (let offset = 0; offset < data.length; offset += 256 * 1024) {
        if (offset === 2 * MiB) controller.abort();
        yield data.subarray(offset, offset + 256 * 1024);
        await sleep(1);
      }
    })();
    const error = await putBlob(castore, pieces, { signal: controller.signal }).catch((e: unknown) => e);
    expect(isAborted(error), String(error)).toBe(true);
    await expectNothingStored();
  });

  it("a grpc-js client that cancels mid-Put stores nothing", async () => {
    castore = await served(transport, { backend: new ObservedBlobService() });
    const client = grpcJsClient(castore.server.address);
    const call = client.put(() => {});
    call.write({ data: data.subarray(0, 2 * MiB) });
    await until(() => castore.backend.bytesTaken >= MiB, "the server has taken bytes");
    call.cancel();
    await expectNothingStored();
    client.close();
  });

  it("a client whose connection breaks mid-Put stores nothing", async () => {
    castore = await served(transport, { backend: new ObservedBlobService() });
    const { session, stream } = rawPut(castore.server.address);
    stream.on("error", () => {});
    const piece = data.subarray(0, MiB);
    stream.write(concatBytes([blobChunkFrameHeader(piece.length), piece]));
    stream.write(concatBytes([blobChunkFrameHeader(piece.length), piece]));
    await until(() => castore.backend.bytesTaken >= MiB, "the server has taken bytes");
    session.socket.destroy();
    await expectNothingStored();
  });

  it("a request that ends in the middle of a message stores nothing", async () => {
    castore = await served(transport, { backend: new ObservedBlobService() });
    const { session, stream } = rawPut(castore.server.address);
    const piece = data.subarray(0, MiB);
    stream.end(concatBytes([blobChunkFrameHeader(piece.length), piece.subarray(0, 1000)]));
    const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once("trailers", resolve));
    stream.resume();
    expect(trailers["grpc-status"]).toBe("3"); // INVALID_ARGUMENT: the client sent a truncated message
    await expectNothingStored();
    session.close();
  });
});

describe("cancelling many Puts at once", () => {
  it("24 grpc-js Puts on one connection, cancelled together once uploaded, store nothing", async () => {
    // Node sends at most 10 unanswered PINGs per connection: Puts confirming their end with a PING
    // each left the rest unconfirmed, and those were stored.
    castore = await served("tcp", { backend: new ObservedBlobService() });
    const client = grpcJsClient(castore.server.address);
    const calls = Array.from({ length: 24 }, (_, i) => {
      const call = client.put(() => {});
      call.write({ data: data.subarray(i, i + MiB + 1000) });
      return call;
    });
    await until(() => castore.backend.bytesTaken >= 24 * MiB, "the server has taken every upload's first MiB");
    for (const call of calls) call.cancel();
    await until(() => castore.backend.writersAborted + castore.backend.writersClosed === 24, "every Put ends");
    expect(castore.backend.writersClosed).toBe(0);
    expect(castore.backend.blobCount).toBe(0);
    client.close();
  });

  it("connections broken while Puts wait for the byte budget: the clients' doing, nothing for onError", async () => {
    // A broken connection fails a Put's body reads ("Premature close") before its stream's 'close'
    // event, and a Put granted the budget in between read on: those were reported as internal
    // errors (with a stack trace in the daemon's log).
    const internal: unknown[] = [];
    castore = await served("tcp", {
      backend: new ObservedBlobService(),
      server: { onError: (error) => internal.push(error), maxBufferedBytes: 4 * MiB },
    });
    const origin = castore.server.address.replace("grpc+", "");
    const BREAK_AFTER_MS = [300, 100, 30];
    for (let round = 1; round <= BREAK_AFTER_MS.length; round++) {
      const sessions = Array.from({ length: 4 }, () => http2.connect(origin).on("error", () => {}));
      const streams = sessions.flatMap((session) =>
        Array.from({ length: 50 }, (_, i) => {
          const stream = rawPutOn(session).on("error", () => {});
          stream.write(blobChunkFrameHeader(2 * MiB));
          stream.write(data.subarray(i, i + MiB));
          return stream;
        }),
      );
      // The connections break this long into the uploads (the scenario, not synchronisation: by
      // then the budget, 2 MiB of data for 200 MiB sent, is spent and most Puts wait for it).
      await sleep(BREAK_AFTER_MS[round - 1]);
      for (const session of sessions) session.destroy();
      await until(() => streams.every((stream) => stream.closed), "every stream closed");
    }
    await castore.server.close({ timeoutMs: 60_000 });
    expect(internal).toEqual([]);
    expect(castore.backend.blobCount).toBe(0);
  });
});

describe.each([
  ["Connect", createConnectTransport],
  ["gRPC-Web", createGrpcWebTransport],
] as const)("cancelling a %s Put over HTTP/2", (_, createTransport) => {
  it("stores nothing, whenever the client aborts after sending a message", async () => {
    castore = await served("tcp", { backend: new ObservedBlobService() });
    const baseUrl = castore.server.address.replace("grpc+", "");
    const client = createClient(BlobService, createTransport({ baseUrl, httpVersion: "2" }));
    for (let attempt = 1; attempt <= 5; attempt++) {
      const controller = new AbortController();
      const taken = castore.backend.bytesTaken;
      const requests = (async function* () {
        yield { data: data.subarray(attempt, attempt + 4000) };
        await until(() => castore.backend.bytesTaken >= taken + 4000, "the server has taken the message");
        controller.abort();
        await new Promise(() => {}); // nothing more: the call is cancelled
      })();
      const error = await client.put(requests, { signal: controller.signal }).catch((e: unknown) => e);
      expect(ConnectError.from(error).code).toBe(Code.Canceled);
      await until(() => castore.backend.writersAborted + castore.backend.writersClosed === attempt, "the Put ends");
      expect(castore.backend.writersClosed).toBe(0);
    }
    expect(castore.backend.blobCount).toBe(0);
  });
});

describe("closing a reader early", () => {
  // Larger than the HTTP/2 windows, so the server cannot have sent it all ahead.
  const big = pseudoRandomBytes(48 * MiB, 22);

  it.each(["unix", "tcp"] as const)("over %s, cancels the Read and closes the server's reader", async (transport) => {
    castore = await served(transport, { backend: new ObservedBlobService() });
    const digest = await putBlob(castore, big);
    const reader = await castore.openRead(digest);
    expect(await reader?.read({ maxBytes: 1000 })).toHaveLength(1000);
    await reader?.close();
    await until(() => castore.backend.readersClosed === 1, "the server closes its reader");
    expect(castore.backend.bytesRead).toBeLessThan(big.length);
  });
});

describe("a web client that cancels a Read mid-stream", () => {
  const big = pseudoRandomBytes(48 * MiB, 23);

  it.each([
    ["gRPC-Web", createGrpcWebTransport],
    ["Connect", createConnectTransport],
  ] as const)("over %s is the client's failure: nothing on stderr, nothing for onError", async (_, transport) => {
    const internal: unknown[] = [];
    const client: unknown[] = [];
    const printed = vi.spyOn(console, "error");
    castore = await served("tcp", {
      backend: new ObservedBlobService(),
      server: { onError: (error) => internal.push(error), onClientError: (error) => client.push(error) },
    });
    const digest = await putBlob(castore, big);
    const web = createClient(
      BlobService,
      transport({ baseUrl: `http://${castore.server.address.replace(/^grpc\+http:\/\//, "")}`, httpVersion: "1.1" }),
    );
    const cancel = new AbortController();
    const stream = web.read({ digest: digest.bytes }, { signal: cancel.signal });
    for await (const _message of stream) break;
    cancel.abort();
    await until(() => castore.backend.readersClosed === 1, "the server closes its reader");
    // Stopping the server waits for every call it has taken to finish, this one included.
    await castore.server.close({ timeoutMs: 2_000 });
    expect(internal).toEqual([]);
    // At most the one failure to write the rest of the answer, reported as the client's.
    expect(client.length).toBeLessThanOrEqual(1);
    expect(printed.mock.calls.filter((call) => String(call[0]).includes("handler for rpc"))).toEqual([]);
    printed.mockRestore();
  });
});
