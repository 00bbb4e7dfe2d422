import type * as http from "node:http";
import type * as http2 from "node:http2";
import { type ConnectRouter, createContextKey, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { AbortedError, type BlobService, ClosedError } from "castore-core";
import { blobServiceDescriptors, PROTO_PACKAGES } from "../protocol.js";
import { statusOfFailure } from "../wire/status.js";
import { readBlob, statBlob, writeBlob } from "./blob-calls.js";
import { confirmUploadEnded } from "./upload-end.js";

/** The Node request a Connect call came in on (Put confirms the end of its upload on it). */
const nodeRequestKey = createContextKey<http.IncomingMessage | http2.Http2ServerRequest | undefined>(undefined);

/** For `connectNodeAdapter({ contextValues })`: hands each call its Node request. */
export function blobCallContext(request: http.IncomingMessage | http2.Http2ServerRequest) {
  return createContextValues().set(nodeRequestKey, request);
}

export interface BlobServiceRoutesOptions {
  service: BlobService;
  readMessageBytes: number;
  /** Fires when the server stops: calls still running then fail with Closed (UNAVAILABLE). */
  shutdownSignal: AbortSignal;
  /** Told about failures that are not castore errors (bugs, backend crashes). */
  onInternalError: (error: unknown) => void;
}

/**
 * Registers the BlobService with Connect, under both proto packages. Connect serves Stat, and
 * serves Read and Put to gRPC-Web and Connect clients (browsers); native gRPC Read and Put take
 * the zero-copy path in native-grpc.ts first.
 */
export function blobServiceRoutes(
  router: ConnectRouter,
  { service, readMessageBytes, shutdownSignal, onInternalError }: BlobServiceRoutesOptions,
): void {
  const statusOnError = async <T>(operation: Promise<T>): Promise<T> => {
    try {
      return await operation;
    } catch (error) {
      throw statusOf(error);
    }
  };
  // Connect cancels the calls of a stopping server; a client should retry those elsewhere.
  const statusOf = (error: unknown) =>
    statusOfFailure(shutdownSignal.aborted ? new ClosedError("the server is shutting down") : error, onInternalError);
  // Written against the message fields only, so the one implementation fits both packages'
  // generated types (they differ in their type names alone).
  const implementation = {
    async stat(request: { digest: Uint8Array; sendChunks: boolean }, context: HandlerContext) {
      // send_bao is accepted and answered with an empty bao: reserved upstream, never specified.
      const chunks = await statusOnError(statBlob(service, request.digest, request.sendChunks, context.signal));
      return { chunks: chunks.map((chunk) => ({ digest: chunk.digest.bytes, size: BigInt(chunk.size) })) };
    },
    async *read(request: { digest: Uint8Array }, context: HandlerContext) {
      const chunks = await statusOnError(readBlob(service, request.digest, readMessageBytes, context.signal));
      try {
        for await (const data of chunks) yield { data };
      } catch (error) {
        // A browser that stops reading (a chunked reader dropping a prefetched chunk) closes its
        // request; the failed write that follows is the client's doing, not an internal error.
        throw statusOf(context.signal.aborted ? new AbortedError("the client cancelled the Read") : error);
      }
    },
    async put(requests: AsyncIterable<{ data: Uint8Array }>, context: HandlerContext) {
      const request = context.values.get(nodeRequestKey);
      if (!request) throw statusOf(new Error("Put served without its Node request (see blobCallContext)"));
      const digest = await statusOnError(writeBlob(service, dataOf(requests, request), context.signal));
      return { digest: digest.bytes };
    },
  };
  for (const protoPackage of PROTO_PACKAGES) router.service(blobServiceDescriptors[protoPackage], implementation);
}

async function* dataOf(
  requests: AsyncIterable<{ data: Uint8Array }>,
  nodeRequest: http.IncomingMessage | http2.Http2ServerRequest,
): AsyncGenerator<Uint8Array> {
  for await (const request of requests) yield request.data;
  await confirmUploadEnded(nodeRequest);
}
