import type { BlobServiceBackend } from "castore-core";
import { GrpcWebBlobService } from "./blob-service.js";

function webBackend(scheme: string, description: string): BlobServiceBackend {
  return {
    scheme,
    description,
    // No connection is made until the first call.
    async open(url) {
      return new GrpcWebBlobService(url);
    },
  };
}

/** `grpc+http://host:port` — a castore server over gRPC-Web (browsers). */
export const grpcHttpBackend = webBackend(
  "grpc+http",
  "grpc+http://host:port — a castore gRPC server over gRPC-Web (cleartext)",
);
/** `grpc+https://host:port` — a castore server over gRPC-Web and TLS (browsers). */
export const grpcHttpsBackend = webBackend(
  "grpc+https",
  "grpc+https://host:port — a castore gRPC server over gRPC-Web and TLS",
);

/** The schemes a browser can reach, for `register(...grpcBackends)` (no grpc+unix in a browser). */
export const grpcBackends: readonly BlobServiceBackend[] = [grpcHttpBackend, grpcHttpsBackend];
