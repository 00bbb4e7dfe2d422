/**
 * The content types of native gRPC with binary protobuf (`application/grpc`, optionally `+proto`,
 * optionally with parameters), which castore frames itself on both ends. gRPC-Web, JSON and the
 * Connect protocol have other types.
 */
export const GRPC_PROTO_CONTENT_TYPE = /^application\/grpc(\+proto)?(;|$)/i;
