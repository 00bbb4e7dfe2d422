import { once } from "node:events";
import * as http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { AbortedError, type B3Digest, type BlobService, ClosedError, isCastoreError } from "castore-core";
import { raceAbort } from "castore-core/backend";
import { PutBlobResponseSchema, ReadBlobRequestSchema } from "../gen/tvix/castore/v1/castore_pb.js";
import { type BlobServiceMethod, methodPath, PROTO_PACKAGES } from "../protocol.js";
import { GRPC_PROTO_CONTENT_TYPE } from "../wire/content-type.js";
import { BlobChunkFrameDecoder, blobChunkFrameHeader, encodeFrame, readSingleFrame } from "../wire/frames.js";
import { encodeGrpcMessage, statusOfFailure } from "../wire/status.js";
import { readBlob, writeBlob } from "./blob-calls.js";
import { CallCharge, readCharge } from "./byte-budget.js";
import { type CallLimits, callLimits, grpcTimeoutSignal } from "./call-limits.js";
import { type CallRecord, callRecord } from "./call-record.js";
import { coalesce } from "./coalesce.js";
import type { StallWatch } from "./request-watch.js";
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
  /** Told about calls that failed because of what the client sent. */
  onClientError: (error: unknown) => void;
  /** The first bytes of a call that do not count against the byte budget. */
  freeBytesPerCall: number;
  /** A Read whose client takes none of the response for this long fails (DEADLINE_EXCEEDED). */
  stalledSendTimeoutMs: number;
  /** The server has an observer: calls may have a record (call-record.ts) to fill in. */
  observed: boolean;
}

/** Handles a request and returns true, or returns false when it is not one of its calls. */
export type NativeBlobHandler = (request: http2.Http2ServerRequest, response: http2.Http2ServerResponse) => boolean;

/** Uploads reach the blob writer in pieces of this size (see coalesce.ts). */
const WRITE_PIECE_BYTES = 1 << 20;
/**
 * The most a Put holds at once: the piece being gathered, and what a store's writer keeps until
 * its next chunk boundary (castore's chunker cuts at 512 KiB at most). Uploads are charged to the
 * byte budget up to this much; what lies beyond has gone to the store.
 */
const PUT_HELD_BYTES = 2 * WRITE_PIECE_BYTES;

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
    const record = options.observed ? callRecord(request) : undefined;
    const encoding = request.headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") {
      const message = `grpc-encoding ${JSON.stringify(encoding)} is not supported; supported encodings are identity`;
      finish(response, new ConnectError(message, Code.Unimplemented), record);
      return true;
    }
    const method = routes.get(request.url.split("?", 1)[0] ?? "");
    if (!method) return false;
    const limits = callLimits(request);
    if (!limits) return false;
    limits.claim();
    const call = new AbortController();
    const cancel = () => call.abort(new AbortedError("the client cancelled the call or went away"));
    // 'aborted' comes first when the client resets the stream or breaks the connection: the body's
    // reads fail ("Premature close") before the stream's 'close', and must read as the cancellation.
    request.once("aborted", cancel);
    request.stream.once("close", cancel);
    const shutdown = () => call.abort(new ClosedError("the server is shutting down"));
    options.shutdownSignal.addEventListener("abort", shutdown, { once: true });
    if (options.shutdownSignal.aborted) shutdown();
    let deadline: ReturnType<typeof grpcTimeoutSignal>;
    try {
      deadline = grpcTimeoutSignal(request.headers["grpc-timeout"]);
    } catch (error) {
      options.onClientError(error);
      finish(response, error as ConnectError, record);
      return true;
    }
    const limited = AbortSignal.any([call.signal, limits.signal, ...(deadline ? [deadline.signal] : [])]);
    const serve = method === "Read" ? serveRead : servePut;
    serve(options, request, response, limited, limits, record)
      .then(
        () => finish(response, null, record),
        (error: unknown) => {
          // Once cancelled (by the client, a deadline, a stall or shutdown), whatever broke is a consequence.
          const failure = limited.aborted ? limited.reason : clientFault(error);
          if (failure instanceof ConnectError || isCastoreError(failure, "Aborted")) options.onClientError(failure);
          finish(response, statusOfFailure(failure, options.onInternalError), record);
        },
      )
      .finally(() => {
        deadline?.clear();
        options.shutdownSignal.removeEventListener("abort", shutdown);
      });
    return true;
  };
}

/**
 * Errors of decoding what the client sent are the client's: INVALID_ARGUMENT. (The decoders say
 * INTERNAL, which is right where they read a server's answer.)
 */
function clientFault(error: unknown): unknown {
  if (error instanceof ConnectError && error.code === Code.Internal) {
    return new ConnectError(error.rawMessage, Code.InvalidArgument);
  }
  return error;
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
  { budget, allowance, stall }: CallLimits,
  record: CallRecord | undefined,
): Promise<void> {
  // Raced: a request that never ends must not outlive its deadline.
  const message = await raceAbort(readSingleFrame(request, options.maxReceiveMessageBytes), signal);
  let digest: Uint8Array;
  try {
    digest = fromBinary(ReadBlobRequestSchema, message).digest;
  } catch (error) {
    throw new ConnectError(`malformed ReadBlobRequest: ${(error as Error).message}`, Code.InvalidArgument);
  }
  record?.setDigest(digest);
  // What serving the blob holds (its reader's read-ahead, the pieces on their way out) is charged
  // to the budget before the first byte is read, and given back once the stream has closed: the
  // last pieces may wait in it after the call is done, for the client to take them.
  const { charge, reservation } = readCharge(
    budget,
    { allowance, freeBytes: options.freeBytesPerCall, maxWaitMs: options.stalledSendTimeoutMs },
    signal,
    stall,
  );
  response.once("close", () => charge.release());
  try {
    const chunks = await readBlob(options.service, digest, options.readMessageBytes, signal, reservation);
    startResponse(response);
    for await (const { bytes: data, sent } of chunks) {
      response.write(blobChunkFrameHeader(data.length));
      // The bytes go out as they are (their buffer serves a later piece once the stream has written
      // them, or failed to); wait only for flow control.
      if (!response.write(data, sent)) await drained(response, signal, options.stalledSendTimeoutMs);
      if (record) record.bytesSent += data.length;
    }
  } finally {
    // Closed already (the client left before the last charge): nothing else will give it back.
    if (response.stream.closed || response.stream.destroyed) charge.release();
  }
}

/**
 * Waits for 'drain'. A client that takes nothing for `timeoutMs` fails the call (DEADLINE_EXCEEDED)
 * and its stream is reset: what waits in it would never go (trailers queue behind data), and the
 * stream would hold it, and its share of the budget, for as long as the connection lives.
 */
async function drained(response: http2.Http2ServerResponse, signal: AbortSignal, timeoutMs: number): Promise<void> {
  const stalled = AbortSignal.timeout(timeoutMs);
  try {
    await once(response, "drain", { signal: AbortSignal.any([signal, stalled]) });
  } catch (error) {
    if (stalled.aborted && !signal.aborted) {
      // Once the call has ended with this error (the reset would otherwise read as the client's cancel).
      setImmediate(() => {
        if (!response.stream.destroyed) response.stream.close(http2.constants.NGHTTP2_CANCEL);
      });
      throw new ConnectError(`the client took none of the response for ${timeoutMs} ms`, Code.DeadlineExceeded);
    }
    throw error;
  }
}

async function servePut(
  options: NativeBlobCallsOptions,
  request: http2.Http2ServerRequest,
  response: http2.Http2ServerResponse,
  signal: AbortSignal,
  { budget, allowance, stall }: CallLimits,
  record: CallRecord | undefined,
): Promise<void> {
  const charge = new CallCharge(budget, {
    allowance,
    freeBytes: options.freeBytesPerCall,
    capBytes: PUT_HELD_BYTES,
    maxWaitMs: options.stalledSendTimeoutMs,
  });
  const received = receivedBlobBytes(request, options.maxReceiveMessageBytes, signal, charge, stall, record);
  let digest: B3Digest;
  try {
    digest = await writeBlob(options.service, coalesce(received, WRITE_PIECE_BYTES), signal);
  } finally {
    charge.release();
  }
  record?.setDigest(digest);
  startResponse(response);
  response.write(encodeFrame(toBinary(PutBlobResponseSchema, create(PutBlobResponseSchema, { digest: digest.bytes }))));
}

/** The blob bytes of a Put request as they arrive (views into the received buffers), charged to the budget. */
async function* receivedBlobBytes(
  request: http2.Http2ServerRequest,
  maxMessageBytes: number,
  signal: AbortSignal,
  charge: CallCharge,
  stall: StallWatch,
  record: CallRecord | undefined,
): AsyncGenerator<Uint8Array> {
  const decoder = new BlobChunkFrameDecoder(maxMessageBytes);
  for await (const chunk of request as AsyncIterable<Uint8Array>) {
    stall.pause();
    try {
      await charge.charge(chunk.length, signal);
    } finally {
      stall.resume();
    }
    if (!record) {
      yield* decoder.push(chunk);
      continue;
    }
    for (const data of decoder.push(chunk)) {
      record.bytesReceived += data.length;
      yield data;
    }
  }
  await confirmUploadEnded(request);
  decoder.end();
}

function startResponse(response: http2.Http2ServerResponse): void {
  response.writeHead(200, { "content-type": "application/grpc", "grpc-accept-encoding": "identity" });
}

/** Ends the call with its status in the trailers. */
function finish(response: http2.Http2ServerResponse, error: ConnectError | null, record: CallRecord | undefined): void {
  record?.setCode(error ? error.code : 0);
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
