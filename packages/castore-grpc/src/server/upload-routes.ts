import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { type BlobService, ClosedError } from "castore-core";
import { BlobUploadService, type CommitChunkedRequest } from "../gen/castore/v1/upload_pb.js";
import { statusOfFailure } from "../wire/status.js";
import { type CommitChunkedLimits, commitChunked } from "./commit-chunked.js";

/**
 * What one commit may ask of the server. A commit costs the server a read of every chunk it lists
 * for a request of ~40 bytes per chunk; these bound that work (a listed chunk may repeat, as the
 * chunks of a run of zeros do, so the bytes are bounded, not only the list).
 */
export const COMMIT_LIMITS: CommitChunkedLimits = { maxChunks: 1 << 16, maxBlobBytes: 16 * 2 ** 30 };

export interface UploadRoutesOptions {
  service: BlobService;
  /** Fires when the server stops: calls still running then fail with Closed (UNAVAILABLE). */
  shutdownSignal: AbortSignal;
  /** Told about failures that are not castore errors (bugs, backend crashes). */
  onInternalError: (error: unknown) => void;
}

/** Registers castore's own `castore.v1.BlobUploadService` (browser uploads; see commit-chunked.ts). */
export function uploadServiceRoutes(router: ConnectRouter, options: UploadRoutesOptions): void {
  const { service, shutdownSignal, onInternalError } = options;
  router.service(BlobUploadService, {
    async commitChunked(request: CommitChunkedRequest, context: HandlerContext) {
      try {
        return { size: await commitChunked(service, request, COMMIT_LIMITS, context.signal) };
      } catch (error) {
        throw statusOfFailure(
          shutdownSignal.aborted ? new ClosedError("the server is shutting down") : error,
          onInternalError,
        );
      }
    },
  });
}
