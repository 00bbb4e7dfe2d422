// A Put whose client cancels or goes away stores nothing; a reader closed early ends the server's read.
import * as http2 from "node:http2";
import * as net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { concatBytes, digestOf, isAborted, putBlob } from "castore-core";
import { pseudoRandomBytes } from "castore-fixtures";
import { afterEach, describe, expect, it } from "vitest";
import { parseGrpcAddress } from "../src/client/address.js";
import { blobChunkFrameHeader } from "../src/wire/frames.js";
import { grpcJsClient } from "./support/grpc-js.js";
import { ObservedBlobService } from "./support/observed.js";
import { type ServedClient, served } from "./support/served.js";

const MiB = 1 << 20;
const data = pseudoRandomBytes(6 * MiB, 21);

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
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
  const stream = session.request({
    ":method": "POST",
    ":path": "/tvix.castore.v1.BlobService/Put",
    "content-type": "application/grpc",
    te: "trailers",
  });
  return { session, stream };
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
    expect(trailers["grpc-status"]).toBe("13"); // INTERNAL: a truncated message is a protocol error
    await expectNothingStored();
    session.close();
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
