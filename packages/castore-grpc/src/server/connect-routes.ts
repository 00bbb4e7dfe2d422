import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import type { BlobService } from "castore-core";
import { blobServiceDescriptors, PROTO_PACKAGES } from "../protocol.js";
import { statusOfFailure } from "../wire/status.js";
import { readBlob, statBlob, writeBlob } from "./blob-calls.js";

export interface BlobServiceRoutesOptions {
  service: BlobService;
  readMessageBytes: number;
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
  { service, readMessageBytes, onInternalError }: BlobServiceRoutesOptions,
): void {
  const statusOnError = async <T>(operation: Promise<T>): Promise<T> => {
    try {
      return await operation;
    } catch (error) {
      throw statusOf(error);
    }
  };
  const statusOf = (error: unknown) => statusOfFailure(error, onInternalError);
  // Written against the message fields only, so the one implementation fits both packages'
  // generated types (they differ in their type names alone).
  const implementation = {
    async stat(request: { digest: Uint8Array }, context: HandlerContext) {
      await statusOnError(statBlob(service, request.digest, context.signal));
      return {};
    },
    async *read(request: { digest: Uint8Array }, context: HandlerContext) {
      const chunks = await statusOnError(readBlob(service, request.digest, readMessageBytes, context.signal));
      try {
        for await (const data of chunks) yield { data };
      } catch (error) {
        throw statusOf(error);
      }
    },
    async put(requests: AsyncIterable<{ data: Uint8Array }>, context: HandlerContext) {
      const digest = await statusOnError(writeBlob(service, dataOf(requests), context.signal));
      return { digest: digest.bytes };
    },
  };
  for (const protoPackage of PROTO_PACKAGES) router.service(blobServiceDescriptors[protoPackage], implementation);
}

async function* dataOf(requests: AsyncIterable<{ data: Uint8Array }>): AsyncGenerator<Uint8Array> {
  for await (const request of requests) yield request.data;
}
