import { readFile } from "node:fs/promises";
import { type BlobServiceBackend, InvalidAddressError } from "castore-core";
import { parseGrpcAddress } from "./address.js";
import { GrpcBlobService } from "./blob-service.js";

/** The environment variable a client opened by address takes its bearer token from. */
export const AUTH_TOKEN_ENV = "CASTORE_AUTH_TOKEN";

/** The bearer token for `url`: from its `?auth-token-file=`, else from CASTORE_AUTH_TOKEN, else none. */
async function authTokenFor(url: URL): Promise<string | undefined> {
  const file = parseGrpcAddress(url).authTokenFile;
  if (file === undefined) return process.env[AUTH_TOKEN_ENV] || undefined;
  const token = await readFile(file, "utf8").then(
    (text) => text.trim(),
    (error: NodeJS.ErrnoException) => {
      throw new InvalidAddressError(`${url.href}: cannot read the auth token file (${error.code ?? error.message})`);
    },
  );
  if (token === "") throw new InvalidAddressError(`${url.href}: the auth token file ${file} is empty`);
  return token;
}

function grpcBackend(scheme: string, description: string): BlobServiceBackend {
  return {
    scheme,
    description,
    // Connecting is lazy: opening succeeds even when nothing listens yet.
    async open(url) {
      return new GrpcBlobService(url, { authToken: await authTokenFor(url) });
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
