// Node-only package: its declarations use Node's types, so they bring them (a consumer on
// TypeScript 6+ loads no @types by default).
/// <reference types="node" preserve="true" />
export { type GrpcEndpoint, parseGrpcAddress } from "./client/address.js";
export { AUTH_TOKEN_ENV, grpcBackends, grpcHttpBackend, grpcHttpsBackend, grpcUnixBackend } from "./client/backends.js";
export { GrpcBlobService, type GrpcBlobServiceOptions } from "./client/blob-service.js";
export type { FlowControlOptions } from "./flow-control.js";
/** The generated protobuf-es code: descriptors for Connect clients (`createClient(tvixCastoreV1.BlobService, …)`). */
export * as castoreV1 from "./gen/castore/v1/upload_pb.js";
export * as grpcHealthV1 from "./gen/grpc/health/v1/health_pb.js";
export * as snixCastoreV1 from "./gen/snix/castore/v1/castore_pb.js";
export * as tvixCastoreV1 from "./gen/tvix/castore/v1/castore_pb.js";
export {
  blobServiceDescriptors,
  DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
  DEFAULT_MESSAGE_BYTES,
  DEFAULT_PROTO_PACKAGE,
  methodPath,
  PROTO_PACKAGES,
  type ProtoPackage,
} from "./protocol.js";
export { type AllowedHosts, hostCheckFor } from "./server/allowed-hosts.js";
export type { CorsOptions } from "./server/cors.js";
export { HealthStatus, ServingStatus } from "./server/health.js";
export type { ListenAddress } from "./server/listen.js";
export {
  type CallEnd,
  type CallObserver,
  type CallProtocol,
  type CallStart,
  combineObservers,
  type RefusalReason,
  type ServerObserver,
} from "./server/observer.js";
export { type BlobServer, type CloseOptions, type ServeBlobServiceOptions, serveBlobService } from "./server/serve.js";
export { type TraceCallsOptions, traceCalls } from "./server/trace-calls.js";
export { fromConnectError, toConnectError } from "./wire/status.js";
