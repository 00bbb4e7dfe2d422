import type { Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";

/** The protocols a browser can speak to a castore server (both are served on every port). */
export type WebProtocol = "grpc-web" | "connect";

/** A connect-web transport for `origin`: binary protobuf, no compression (blobs rarely compress). */
export function createWebTransport(origin: string, protocol: WebProtocol, fetch?: typeof globalThis.fetch): Transport {
  const options = { baseUrl: origin, useBinaryFormat: true, ...(fetch ? { fetch } : {}) };
  return protocol === "connect" ? createConnectTransport(options) : createGrpcWebTransport(options);
}
