import { once } from "node:events";
import * as http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { AbortedError, type BlobService, ClosedError } from "castore-core";
import { PutBlobResponseSchema, ReadBlobRequestSchema } from "../gen/tvix/castore/v1/castore_pb.js";
import { type BlobServiceMethod, methodPath, PROTO_PACKAGES } from "../protocol.js";
import { GRPC_PROTO_CONTENT_TYPE } from "../wire/content-type.js";
import { BlobChunkFrameDecoder, blobChunkFrameHeader, encodeFrame, readSingleFrame } from "../wire/frames.js";
import { encodeGrpcMessage, statusOfFailure } from "../wire/status.js";
import { readBlob, writeBlob } from "./blob-calls.js";
import { coalesce } from "./coalesce.js";
import { confirmUploadEnded } from "./upload-end.js";

export interface NativeBlobCallsOptions {
  service: BlobService;
  /** Largest BlobChunk a Read sends. */
  readMessageBytes: number;
  /** Larger received messages are RESOURCE_EXHAUSTED. */
  maxReceiveMessageBytes: number;
  /** Fires when the server stops: calls still running are cancelled. */
  shutdownSignal: AbortSignal;
  /** Told about failures that are not castore errors (bugs, backend crashes). */
  onInternalError: (error: unknown) => void;
}

/** Handles a request and returns true, or returns false when it is not one of its calls. */
export type NativeBlobHandler = (request: http2.Http2ServerRequest, response: http2.Http2ServerResponse) => boolean;

/** Uploads reach the blob writer in pieces of this size (see coalesce.ts). */
const WRITE_PIECE_BYTES = 1 << 20;

/**
 * Read and Put over native gRPC (HTTP/2, binary protobuf, no compression): the calls that carry
 * blob bytes, served on node:http2 with hand-made framing (see wire/frames.ts) instead of Connect's
 * copying message path. A Read sends the store's buffers as they are; a Put passes the received
 * bytes on as views, gathered once into 1 MiB pieces for the store's writer. Everything else —
 * Stat, health, gRPC-Web, the Connect protocol, JSON — is left to Connect. A compressed gRPC request,
 * to any method, is refused here: castore offers no compression (blobs rarely compress), and says so.
 */
export function createNativeBlobHandler(options: NativeBlobCallsOptions): NativeBlobHandler {
  const routes = new Map<string, BlobServiceMethod>();
  for (const protoPackage of PROTO_PACKAGES) {
    routes.set(methodPath(protoPackage, "Read"), "Read");
    routes.set(methodPath(protoPackage, "Put"), "Put");
  }
  return (request, response) => {
    if (!isGrpc(request)) return false;
    const encoding = request.headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") {
      const message = `grpc-encoding ${JSON.stringify(encoding)} is not supported; supported encodings are identity`;
      finish(response, new ConnectError(message, Code.Unimplemented));
      return true;
    }
    const method = routes.get(request.url.split("?", 1)[0] ?? "");
    if (!method) return false;
    const call = new AbortController();
    const cancel = () => call.abort(new AbortedError("the client cancelled the call or went away"));
    request.stream.once("close", cancel);
    const shutdown = () => call.abort(new ClosedError("the server is shutting down"));
    options.shutdownSignal.addEventListener("abort", shutdown, { once: true });
    if (options.shutdownSignal.aborted) shutdown();
    const serve = method === "Read" ? serveRead : servePut;
    serve(options, request, response, call.signal)
      .then(
        () => finish(response, null),
        (error: unknown) => {
          // Once cancelled, whatever broke is a consequence of the cancellation.
          finish(response, statusOfFailure(call.signal.aborted ? call.signal.reason : error, options.onInternalError));
        },
      )
      .finally(() => options.shutdownSignal.removeEventListener("abort", shutdown));
    return true;
  };
}

/** Native gRPC with binary protobuf over HTTP/2 (not gRPC-Web, not the Connect protocol). */
function isGrpc(request: http2.Http2ServerRequest): boolean {
  return (
    request.httpVersionMajor === 2 &&
    request.method === "POST" &&
    GRPC_PROTO_CONTENT_TYPE.test(request.headers["content-type"] ?? "")
  );
}

async function serveRead(
  options: NativeBlobCallsOptions,
  request: http2.Http2ServerRequest,
  response: http2.Http2ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  const message = await readSingleFrame(request, options.maxReceiveMessageBytes);
  const { digest } = fromBinary(ReadBlobRequestSchema, message);
  const chunks = await readBlob(options.service, digest, options.readMessageBytes, signal);
  startResponse(response);
  for await (const data of chunks) {
    response.write(blobChunkFrameHeader(data.length));
    // The reader handed these bytes over, so they go out as they are; wait only for flow control.
    if (!response.write(data)) await once(response, "drain", { signal });
  }
}

async function servePut(
  options: NativeBlobCallsOptions,
  request: http2.Http2ServerRequest,
  response: http2.Http2ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  const data = coalesce(receivedBlobBytes(request, options.maxReceiveMessageBytes), WRITE_PIECE_BYTES);
  const digest = await writeBlob(options.service, data, signal);
  startResponse(response);
  response.write(encodeFrame(toBinary(PutBlobResponseSchema, create(PutBlobResponseSchema, { digest: digest.bytes }))));
}

/** The blob bytes of a Put request as they arrive (views into the received buffers). */
async function* receivedBlobBytes(
  request: http2.Http2ServerRequest,
  maxMessageBytes: number,
): AsyncGenerator<Uint8Array> {
  const decoder = new BlobChunkFrameDecoder(maxMessageBytes);
  for await (const chunk of request as AsyncIterable<Uint8Array>) yield* decoder.push(chunk);
  await confirmUploadEnded(request);
  decoder.end();
}

function startResponse(response: http2.Http2ServerResponse): void {
  response.writeHead(200, { "content-type": "application/grpc", "grpc-accept-encoding": "identity" });
}

/** Ends the call with its status in the trailers. */
function finish(response: http2.Http2ServerResponse, error: ConnectError | null): void {
  const stream = response.stream;
  if (stream.destroyed || stream.closed) return; // the client is gone: nobody to tell
  if (!response.headersSent) startResponse(response);
  // A client still sending (a refused Put) is told to stop once the trailers are out, without
  // disturbing the connection's other streams (as Connect does).
  stream.once("wantTrailers", () =>
    setImmediate(() => {
      if (!stream.destroyed && stream.state.remoteClose === 0) stream.close(http2.constants.NGHTTP2_NO_ERROR);
    }),
  );
  response.addTrailers(
    error
      ? {
          ...Object.fromEntries(error.metadata), // castore-error-code, as Connect sends it for Stat
          "grpc-status": String(error.code),
          "grpc-message": encodeGrpcMessage(error.rawMessage),
        }
      : { "grpc-status": "0" },
  );
  response.end();
}
