import type * as http from "node:http";
import type * as http2 from "node:http2";
import {
  ConnectError,
  type ConnectRouter,
  type ContextValues,
  createContextKey,
  createContextValues,
  type HandlerContext,
} from "@connectrpc/connect";
import { AbortedError, type BlobService, ClosedError } from "castore-core";
import { raceAbort } from "castore-core/backend";
import { blobServiceDescriptors, PROTO_PACKAGES } from "../protocol.js";
import { statusOfFailure } from "../wire/status.js";
import { readBlob, statBlob, writeBlob } from "./blob-calls.js";
import { CallCharge, readCharge } from "./byte-budget.js";
import { abandonResponse, callLimits } from "./call-limits.js";
import { type CallRecord, callRecord } from "./call-record.js";
import type { StallWatch } from "./request-watch.js";
import { confirmUploadEnded } from "./upload-end.js";

type Request = http.IncomingMessage | http2.Http2ServerRequest;

/** The Node request a Connect call came in on (Put confirms the end of its upload on it). */
const nodeRequestKey = createContextKey<Request | undefined>(undefined);

/** The Node request a Connect call came in on. */
export function nodeRequestOf(values: ContextValues): Request | undefined {
  return values.get(nodeRequestKey);
}

/** For `connectHandler({ contextValues })` (connect-handler.ts): hands each call its Node request. */
export function blobCallContext(request: http.IncomingMessage | http2.Http2ServerRequest) {
  return createContextValues().set(nodeRequestKey, request);
}

export interface BlobServiceRoutesOptions {
  service: BlobService;
  readMessageBytes: number;
  /** Largest message a client may send (a Put holds one while it passes it on). */
  maxReceiveMessageBytes: number;
  /** The first bytes of a call that do not count against the byte budget. */
  freeBytesPerCall: number;
  /** How long a call may wait for the byte budget before it fails with RESOURCE_EXHAUSTED. */
  budgetWaitMs: number;
  /** How long a Read's client may take none of the answer before its call is cut off. */
  stalledSendTimeoutMs: number;
  /** Fires when the server stops: calls still running then fail with Closed (UNAVAILABLE). */
  shutdownSignal: AbortSignal;
  /** Told about failures that are not castore errors (bugs, backend crashes). */
  onInternalError: (error: unknown) => void;
  /** The server has an observer: calls may have a record (call-record.ts) to fill in. */
  observed: boolean;
}

/**
 * Registers the BlobService with Connect, under both proto packages. Connect serves Stat, and
 * serves Read and Put to gRPC-Web and Connect clients (browsers); native gRPC Read and Put take
 * the zero-copy path in native-grpc.ts first.
 */
export function blobServiceRoutes(
  router: ConnectRouter,
  {
    service,
    readMessageBytes,
    maxReceiveMessageBytes,
    freeBytesPerCall,
    budgetWaitMs,
    stalledSendTimeoutMs,
    shutdownSignal,
    onInternalError,
    observed,
  }: BlobServiceRoutesOptions,
): void {
  // Connect cancels the calls of a stopping server; a client should retry those elsewhere. A call
  // cancelled for another reason (its deadline, a stalled body) fails for that reason.
  const statusOf = (error: unknown, signal?: AbortSignal) =>
    statusOfFailure(
      shutdownSignal.aborted
        ? new ClosedError("the server is shutting down")
        : signal?.aborted && signal.reason instanceof ConnectError
          ? signal.reason
          : error,
      onInternalError,
    );
  /** The call's signal: Connect's (client cancel, deadline, shutdown) and the server's limits (a stalled body). */
  const callSignal = (context: HandlerContext) => {
    const limits = callLimits(context.values.get(nodeRequestKey) as Request);
    limits?.claim();
    return { limits, signal: limits ? AbortSignal.any([context.signal, limits.signal]) : context.signal };
  };
  // Written against the message fields only, so the one implementation fits both packages'
  // generated types (they differ in their type names alone).
  const implementation = {
    async stat(request: { digest: Uint8Array; sendChunks: boolean }, context: HandlerContext) {
      if (observed) callRecord(context.values.get(nodeRequestKey) as Request)?.setDigest(request.digest);
      try {
        // send_bao is accepted and answered with an empty bao: reserved upstream, never specified.
        const chunks = await statBlob(service, request.digest, request.sendChunks, context.signal);
        return { chunks: chunks.map((chunk) => ({ digest: chunk.digest.bytes, size: BigInt(chunk.size) })) };
      } catch (error) {
        throw statusOf(error, context.signal);
      }
    },
    async *read(request: { digest: Uint8Array }, context: HandlerContext) {
      const { limits, signal } = callSignal(context);
      const nodeRequest = context.values.get(nodeRequestKey) as Request | undefined;
      const record = observed && nodeRequest ? callRecord(nodeRequest) : undefined;
      record?.setDigest(request.digest);
      // What serving the blob holds is charged to the budget first (see readBlob), until the call ends.
      const charged =
        limits &&
        readCharge(
          limits.budget,
          { allowance: limits.allowance, freeBytes: freeBytesPerCall, maxWaitMs: budgetWaitMs },
          signal,
        );
      try {
        const chunks = await readBlob(service, request.digest, readMessageBytes, signal, charged?.reservation);
        // Connect writes each message before asking for the next: one message is buffered at a
        // time, and its bytes are copied into the response by then.
        for await (const { bytes, sent } of chunks) {
          if (record) record.bytesSent += bytes.length;
          // Connect asks for the next message once this one is written: a client that takes
          // nothing for the timeout is cut off, which ends this generator and gives back its charge.
          const stalled = nodeRequest && setTimeout(() => abandonResponse(nodeRequest), stalledSendTimeoutMs);
          try {
            yield { data: bytes };
          } finally {
            clearTimeout(stalled);
          }
          sent();
        }
      } catch (error) {
        // A browser that stops reading (a chunked reader dropping a prefetched chunk) closes its
        // request; the failed write that follows is the client's doing, not an internal error.
        throw statusOf(context.signal.aborted ? new AbortedError("the client cancelled the Read") : error, signal);
      } finally {
        charged?.charge.release();
      }
    },
    async put(requests: AsyncIterable<{ data: Uint8Array }>, context: HandlerContext) {
      const request = context.values.get(nodeRequestKey);
      if (!request) throw statusOf(new Error("Put served without its Node request (see blobCallContext)"));
      const { limits, signal } = callSignal(context);
      const charge =
        limits &&
        new CallCharge(limits.budget, {
          allowance: limits.allowance,
          freeBytes: freeBytesPerCall,
          capBytes: maxReceiveMessageBytes + (1 << 20),
          maxWaitMs: budgetWaitMs,
        });
      const record = observed ? callRecord(request) : undefined;
      try {
        const data = dataOf(requests, request, signal, charge, limits?.stall);
        const digest = await writeBlob(service, record ? counted(data, record) : data, signal);
        record?.setDigest(digest);
        return { digest: digest.bytes };
      } catch (error) {
        throw statusOf(error, signal);
      } finally {
        charge?.release();
      }
    },
  };
  for (const protoPackage of PROTO_PACKAGES) router.service(blobServiceDescriptors[protoPackage], implementation);
}

async function* dataOf(
  requests: AsyncIterable<{ data: Uint8Array }>,
  nodeRequest: Request,
  signal: AbortSignal,
  charge: CallCharge | undefined,
  stall: StallWatch | undefined,
): AsyncGenerator<Uint8Array> {
  // Each message is raced against the signal: a stalled body or a deadline must end the call even
  // while Connect's parser waits for bytes that never come.
  const iterator = requests[Symbol.asyncIterator]();
  for (;;) {
    const next = await raceAbort(iterator.next(), signal);
    if (next.done) break;
    const request = next.value;
    stall?.pause();
    try {
      await charge?.charge(request.data.length, signal);
    } finally {
      stall?.resume();
    }
    yield request.data;
  }
  await confirmUploadEnded(nodeRequest);
}

/** The bytes of a Put as they pass, counted on its record. */
async function* counted(data: AsyncIterable<Uint8Array>, record: CallRecord): AsyncGenerator<Uint8Array> {
  for await (const chunk of data) {
    record.bytesReceived += chunk.length;
    yield chunk;
  }
}
