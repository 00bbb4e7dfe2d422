import { BlobService as SnixBlobService } from "./gen/snix/castore/v1/castore_pb.js";
import { BlobService as TvixBlobService } from "./gen/tvix/castore/v1/castore_pb.js";

/**
 * The proto packages the BlobService is known under (docs/design.md §5): the Rust original's
 * `tvix.castore.v1` and its continuation's `snix.castore.v1`, identical on the wire apart from
 * the name. Servers serve both; clients speak tvix unless told otherwise.
 */
export const PROTO_PACKAGES = ["tvix.castore.v1", "snix.castore.v1"] as const;
export type ProtoPackage = (typeof PROTO_PACKAGES)[number];
export const DEFAULT_PROTO_PACKAGE: ProtoPackage = "tvix.castore.v1";

/** The generated service descriptor for each package. */
export const blobServiceDescriptors = {
  "tvix.castore.v1": TvixBlobService,
  "snix.castore.v1": SnixBlobService,
} as const;

export type BlobServiceMethod = "Stat" | "Read" | "Put";

/** The HTTP/2 `:path` of a method, e.g. `/tvix.castore.v1.BlobService/Read`. */
export function methodPath(protoPackage: ProtoPackage, method: BlobServiceMethod): string {
  return `/${protoPackage}.BlobService/${method}`;
}

/** Read messages carry at most this many bytes unless configured otherwise (peers with a 4 MiB limit accept them). */
export const DEFAULT_MESSAGE_BYTES = 1 << 20;
/** The gRPC convention for the largest message a peer accepts. */
export const DEFAULT_MAX_RECEIVE_MESSAGE_BYTES = 4 << 20;
