// castore-grpc's browser entry (`castore-grpc/web`, and what the `browser` export condition selects
// for `castore-grpc`): the client over connect-web, with no Node built-in anywhere in its imports.
export { type GrpcEndpoint, parseGrpcAddress } from "../client/address.js";
export * as castoreV1 from "../gen/castore/v1/upload_pb.js";
export * as snixCastoreV1 from "../gen/snix/castore/v1/castore_pb.js";
export * as tvixCastoreV1 from "../gen/tvix/castore/v1/castore_pb.js";
export {
  blobServiceDescriptors,
  DEFAULT_PROTO_PACKAGE,
  methodPath,
  PROTO_PACKAGES,
  type ProtoPackage,
} from "../protocol.js";
export { fromConnectError, toConnectError } from "../wire/status.js";
export { grpcBackends, grpcHttpBackend, grpcHttpsBackend } from "./backends.js";
export {
  GrpcWebBlobService,
  GrpcWebBlobService as GrpcBlobService,
  type GrpcWebBlobServiceOptions,
  type GrpcWebBlobServiceOptions as GrpcBlobServiceOptions,
} from "./blob-service.js";
export { type ChunkCut, type ChunkCutter, FixedSizeCutter } from "./cutter.js";
export { fromWebError } from "./status.js";
export type { WebProtocol } from "./transport.js";
export { ChunkedUploadWriter, type ChunkUploadCalls, type UploadedChunk } from "./upload-writer.js";
