import { InvalidAddressError } from "castore-core";
import {
  oneOf,
  parseAddress,
  parseOptions,
  requireHost,
  requireNoFragment,
  requireNoHost,
  requireNoPath,
  requirePath,
  schemeOf,
} from "castore-core/backend";
import { DEFAULT_PROTO_PACKAGE, PROTO_PACKAGES, type ProtoPackage } from "../protocol.js";

/** Where a gRPC BlobService lives, parsed from its address (docs/design.md §4). */
export interface GrpcEndpoint {
  /** The address as given, normalised. */
  readonly address: string;
  /** The HTTP origin the calls go to ("http://localhost" for a unix socket). */
  readonly origin: string;
  /** The unix socket path, for grpc+unix. */
  readonly socketPath: string | undefined;
  /** The proto package the client speaks (option `?package=`). */
  readonly protoPackage: ProtoPackage;
  /** A file holding the bearer token to send (option `?auth-token-file=`). */
  readonly authTokenFile: string | undefined;
}

export const GRPC_SCHEMES = ["grpc+unix", "grpc+http", "grpc+https"] as const;

/**
 * Parses `grpc+unix:///path/to/socket`, `grpc+http://host:port` or `grpc+https://host:port`.
 * A unix address takes a path and no host; an http(s) address a host and no path. The option
 * `package=snix.castore.v1`, makes the client speak the snix name of the protocol;
 * `auth-token-file=/path` names a file whose content is the bearer token to send.
 */
export function parseGrpcAddress(address: string | URL): GrpcEndpoint {
  const url = parseAddress(address);
  requireNoFragment(url);
  const scheme = schemeOf(url);
  const options = parseOptions(url, { package: oneOf(...PROTO_PACKAGES), "auth-token-file": nonEmpty });
  const protoPackage = options.package ?? DEFAULT_PROTO_PACKAGE;
  const authTokenFile = options["auth-token-file"];
  switch (scheme) {
    case "grpc+unix": {
      requireNoHost(url);
      const socketPath = requirePath(url);
      return { address: url.href, origin: "http://localhost", socketPath, protoPackage, authTokenFile };
    }
    case "grpc+http":
    case "grpc+https": {
      const host = requireHost(url);
      requireNoPath(url);
      const tls = scheme === "grpc+https";
      return {
        address: url.href,
        origin: `${tls ? "https" : "http"}://${host}`,
        socketPath: undefined,
        protoPackage,
        authTokenFile,
      };
    }
    default:
      throw new InvalidAddressError(
        `${url.href}: not a gRPC address (expected ${GRPC_SCHEMES.map((s) => `${s}://`).join(", ")})`,
      );
  }
}

function nonEmpty(value: string): string {
  if (value === "") throw new Error("expected a file path");
  return value;
}
