// How castore's client reports what a server (or the way to it) does wrong, against a bare
// node:http2 server that misbehaves on purpose.
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { ErrorCode, isCastoreError, putBlob, readAll } from "castore-core";
import { HELLOWORLD, pseudoRandomBytes } from "castore-fixtures";
import { afterEach, describe, expect, it } from "vitest";
import { GrpcBlobService } from "../src/client/blob-service.js";
import { blobChunkFrameHeader } from "../src/wire/frames.js";
import { decodeGrpcMessage, encodeGrpcMessage } from "../src/wire/status.js";

type Behaviour = (stream: http2.ServerHttp2Stream, method: string) => void;

let server: http2.Http2Server | undefined;
let client: GrpcBlobService | undefined;
afterEach(async () => {
  await client?.close();
  const running = server;
  if (running) await new Promise((resolve) => running.close(resolve));
  client = undefined;
  server = undefined;
});

/** A client of a server that answers every call with `behaviour`. */
async function clientOf(behaviour: Behaviour): Promise<GrpcBlobService> {
  server = http2.createServer();
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    const method = String(headers[":path"]).split("/").pop() ?? "";
    // Opening a reader asks Stat first (for the chunk list): answer "present, in one piece", so
    // that the misbehaviour meets the Read stream it is about.
    if (method === "Stat") answerOnePiece(stream);
    else behaviour(stream, method);
  });
  const listening = server;
  await new Promise<void>((resolve) => listening.listen(0, "127.0.0.1", resolve));
  client = new GrpcBlobService(`grpc+http://127.0.0.1:${(listening.address() as AddressInfo).port}`);
  return client;
}

/** An OK Stat response with an empty StatBlobResponse (no chunk list). */
function answerOnePiece(stream: http2.ServerHttp2Stream): void {
  stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
  stream.end(new Uint8Array(5)); // one uncompressed message of 0 bytes
}

/** The error `operation` fails with (the test fails if it succeeds). */
async function failure(operation: Promise<unknown>): Promise<unknown> {
  return operation.then(
    (result) => expect.fail(`expected a failure, got ${String(result)}`),
    (error: unknown) => error,
  );
}

function expectCode(error: unknown, code: ErrorCode, message?: RegExp): void {
  expect(isCastoreError(error, code), String(error)).toBe(true);
  if (message) expect(String(error)).toMatch(message);
}

describe("client options", () => {
  it("refuses numbers that are not positive integers in range, before connecting", () => {
    for (const bad of [
      { messageBytes: 0 },
      { messagesInFlight: 0 },
      { maxReceiveMessageBytes: 0 },
      { messageBytes: 2 ** 32 },
      { messagesInFlight: 1.5 },
      { connectTimeoutMs: -1 },
      { streamWindowBytes: Number.NaN },
      { connectionWindowBytes: 2 ** 31 },
    ]) {
      let error: unknown;
      try {
        new GrpcBlobService("grpc+http://127.0.0.1:1", bad);
      } catch (e) {
        error = e;
      }
      expectCode(error, ErrorCode.InvalidArgument, new RegExp(Object.keys(bad)[0] as string));
    }
  });
});

describe("a connection lost mid-call", () => {
  it("fails a Read with Unavailable, not Aborted", async () => {
    const castore = await clientOf((stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" });
      const data = new Uint8Array(50_000);
      stream.write(Buffer.concat([blobChunkFrameHeader(data.length), data]), () => stream.session?.destroy());
    });
    const reader = await castore.openRead(HELLOWORLD.digest);
    expect(reader).toBeDefined();
    expectCode(await failure(readAll(reader as AsyncIterable<Uint8Array>)), ErrorCode.Unavailable, /connection lost/);
  });

  it("fails a Put with Unavailable, not Aborted", async () => {
    const castore = await clientOf((stream) => {
      stream.once("data", () => stream.session?.destroy());
    });
    const error = await failure(putBlob(castore, pseudoRandomBytes(3 << 20, 41)));
    expectCode(error, ErrorCode.Unavailable, /connection lost/);
  });
});

describe("a server that cannot be reached", () => {
  it("is UNAVAILABLE for every call, a missing unix socket included", async () => {
    for (const address of ["grpc+unix:///nonexistent/castore.sock", "grpc+http://127.0.0.1:1"]) {
      const unreachable = new GrpcBlobService(address);
      for (const call of [
        () => unreachable.has(HELLOWORLD.digest),
        () => unreachable.openRead(HELLOWORLD.digest),
        () => putBlob(unreachable, HELLOWORLD.data),
      ]) {
        expectCode(await failure(call()), ErrorCode.Unavailable, /(Stat|Read|Put): /);
      }
      await unreachable.close();
    }
  });
});

describe("statuses", () => {
  it("a grpc-status the client does not know is UNKNOWN", async () => {
    const castore = await clientOf((stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "99" }, { endStream: true });
    });
    expectCode(await failure(castore.openRead(HELLOWORLD.digest)), ErrorCode.Backend, /gRPC status Unknown/);
  });
});

describe("grpc-message", () => {
  it("encodes only bytes outside printable ASCII, and '%'", () => {
    expect(encodeGrpcMessage("blob b3:AB/+= not found")).toBe("blob b3:AB/+= not found");
    expect(encodeGrpcMessage("café ✓ 100%\n")).toBe("caf%C3%A9 %E2%9C%93 100%25%0A");
    expect(decodeGrpcMessage("caf%C3%A9 %E2%9C%93 100%25%0A")).toBe("café ✓ 100%\n");
  });

  it("decodes what peers send, keeping a stray '%' as sent", async () => {
    const castore = await clientOf((stream) => {
      const message = "caf%C3%A9 %E2%9C%93 100% b3%3Ax";
      stream.respond(
        { ":status": 200, "content-type": "application/grpc", "grpc-status": "14", "grpc-message": message },
        { endStream: true },
      );
    });
    expectCode(await failure(castore.openRead(HELLOWORLD.digest)), ErrorCode.Unavailable, /café ✓ 100% b3:x/);
  });
});
