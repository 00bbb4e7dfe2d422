import type { BlobServiceBackend } from "castore-core";
import { GrpcBlobService } from "./blob-service.js";

function grpcBackend(scheme: string, description: string): BlobServiceBackend {
  return {
    scheme,
    description,
    // Connecting is lazy: opening succeeds even when nothing listens yet.
    async open(url) {
      return new GrpcBlobService(url);
    },
  };
}

/** `grpc+unix:///path/to/socket` — a gRPC BlobService on a unix socket. */
export const grpcUnixBackend = grpcBackend(
  "grpc+unix",
  "grpc+unix:///path/to/socket — a castore (or tvix/snix) gRPC BlobService on a unix socket",
);
/** `grpc+http://host:port` — a gRPC BlobService over cleartext HTTP/2. */
export const grpcHttpBackend = grpcBackend(
  "grpc+http",
  "grpc+http://host:port — a castore (or tvix/snix) gRPC BlobService over cleartext HTTP/2",
);
/** `grpc+https://host:port` — a gRPC BlobService over TLS. */
export const grpcHttpsBackend = grpcBackend(
  "grpc+https",
  "grpc+https://host:port — a castore (or tvix/snix) gRPC BlobService over TLS",
);

/** All three gRPC schemes, for `register(...grpcBackends)`. */
export const grpcBackends: readonly BlobServiceBackend[] = [grpcUnixBackend, grpcHttpBackend, grpcHttpsBackend];
