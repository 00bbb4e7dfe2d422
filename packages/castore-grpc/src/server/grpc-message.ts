import type * as http2 from "node:http2";
import { encodeGrpcMessage } from "../wire/status.js";

/**
 * One grpc-message encoding on every method. Read and Put over native gRPC are answered here
 * (native-grpc.ts, with the spec's encoding); Stat and health go through Connect, which encodes
 * grpc-message with encodeURIComponent (so "b3:…/…" arrives as "b3%3A…%2F…" at peers that decode
 * only what the spec asks, grpc-js among them). This re-encodes Connect's trailer the spec's way.
 *
 * It relies on connect-node (2.3.0, pinned exactly in pnpm-workspace.yaml) writing a gRPC
 * response's status with `Http2ServerResponse.addTrailers`; test/status.test.ts fails if that changes.
 */
export function specGrpcMessageTrailers(response: http2.Http2ServerResponse): void {
  const addTrailers = response.addTrailers.bind(response);
  response.addTrailers = (trailers: http2.OutgoingHttpHeaders) => {
    const message = trailers["grpc-message"];
    if (typeof message === "string") trailers["grpc-message"] = encodeGrpcMessage(decodeUriComponentOrKeep(message));
    addTrailers(trailers);
  };
}

function decodeUriComponentOrKeep(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
