import type { Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { traceClientCalls } from "../wire/trace-context.js";

/** The protocols a browser can speak to a castore server (both are served on every port). */
export type WebProtocol = "grpc-web" | "connect";

/** A connect-web transport for `origin`: binary protobuf, no compression (blobs rarely compress). */
export function createWebTransport(origin: string, protocol: WebProtocol, fetch?: typeof globalThis.fetch): Transport {
  // Every call carries the page's trace context when it registered an OpenTelemetry SDK.
  const options = {
    baseUrl: origin,
    useBinaryFormat: true,
    interceptors: [traceClientCalls],
    ...(fetch ? { fetch } : {}),
  };
  return protocol === "connect" ? createConnectTransport(options) : createGrpcWebTransport(options);
}
