import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import type * as tls from "node:tls";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { BlobService } from "castore-core";
import {
  checkFlowControlOptions,
  type FlowControlOptions,
  openConnectionWindow,
  receiveSettings,
} from "../flow-control.js";
import { MAX_MESSAGE_BYTES, positiveInteger } from "../options.js";
import { DEFAULT_MAX_RECEIVE_MESSAGE_BYTES, DEFAULT_MESSAGE_BYTES, PROTO_PACKAGES } from "../protocol.js";
import { blobCallContext, blobServiceRoutes } from "./connect-routes.js";
import { applyCors, type CorsOptions } from "./cors.js";
import { specGrpcMessageTrailers } from "./grpc-message.js";
import { HealthStatus, healthRoutes } from "./health.js";
import { InFlightCalls } from "./in-flight.js";
import { addressOf, type ListenAddress, listen, sniffProtocol } from "./listen.js";
import { createNativeBlobHandler } from "./native-grpc.js";

export interface ServeBlobServiceOptions extends FlowControlOptions {
  /** A unix socket `{ path }`, or TCP `{ host, port }` (host defaults to 127.0.0.1; port 0 picks a free port). */
  listen: ListenAddress;
  /** Serve TLS (HTTP/2 and HTTP/1.1 by ALPN) with this key and certificate; cleartext otherwise. */
  tls?: tls.SecureContextOptions | undefined;
  /** Largest message a client may send; larger ones are RESOURCE_EXHAUSTED. Default 4 MiB. */
  maxReceiveMessageBytes?: number | undefined;
  /** Most concurrent calls on one HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS). Default 100. */
  maxConcurrentStreams?: number | undefined;
  /** Largest BlobChunk a Read sends. Default 1 MiB, which peers with a 4 MiB limit accept. */
  readChunkBytes?: number | undefined;
  /** Also serve the standard grpc.health.v1.Health service. Default false. */
  health?: boolean | undefined;
  /** Let browsers on these origins call the server (gRPC-Web, Connect). Default: no CORS headers. */
  cors?: CorsOptions | undefined;
  /** Told about failures that are not castore errors (bugs, backend crashes). Default: console.error. */
  onError?: ((error: unknown) => void) | undefined;
}

export interface CloseOptions {
  /** How long in-flight calls may run on before they are cancelled. Default 10 s. */
  timeoutMs?: number | undefined;
}

/** A running server. */
export interface BlobServer extends AsyncDisposable {
  /** Where clients reach it: grpc+unix:///path, grpc+http://host:port or grpc+https://host:port. */
  readonly address: string;
  /** The health statuses it reports, when serving grpc.health.v1. */
  readonly health: HealthStatus | undefined;
  /**
   * Graceful shutdown: stops accepting connections and calls, lets in-flight calls finish for up to
   * `timeoutMs`, then cancels the rest (a cancelled Put stores nothing) and closes every connection.
   * Does not close the BlobService. Idempotent.
   */
  close(options?: CloseOptions): Promise<void>;
}

/**
 * Serves a BlobService over gRPC (for native clients such as castore's own, the Rust tvix/snix
 * ones, or grpc-js), gRPC-Web and the Connect protocol (for browsers), under both proto packages,
 * on a unix socket or TCP, cleartext (h2c, and HTTP/1.1 on the same port) or TLS.
 */
export async function serveBlobService(service: BlobService, options: ServeBlobServiceOptions): Promise<BlobServer> {
  const maxReceiveMessageBytes =
    positiveInteger("maxReceiveMessageBytes", options.maxReceiveMessageBytes, MAX_MESSAGE_BYTES) ??
    DEFAULT_MAX_RECEIVE_MESSAGE_BYTES;
  const readMessageBytes =
    positiveInteger("readChunkBytes", options.readChunkBytes, MAX_MESSAGE_BYTES) ?? DEFAULT_MESSAGE_BYTES;
  const maxConcurrentStreams =
    positiveInteger("maxConcurrentStreams", options.maxConcurrentStreams, 2 ** 32 - 1) ?? 100;
  checkFlowControlOptions(options);
  const onInternalError = options.onError ?? ((error: unknown) => console.error("castore-grpc server:", error));
  const shutdown = new AbortController();
  const health = options.health ? new HealthStatus(PROTO_PACKAGES.map((p) => `${p}.BlobService`)) : undefined;

  const native = createNativeBlobHandler({
    service,
    readMessageBytes,
    maxReceiveMessageBytes,
    shutdownSignal: shutdown.signal,
    onInternalError,
  });
  const connect = connectNodeAdapter({
    routes(router) {
      blobServiceRoutes(router, { service, readMessageBytes, shutdownSignal: shutdown.signal, onInternalError });
      if (health) healthRoutes(router, health);
    },
    // Blobs are mostly incompressible; gzip would only slow them down (docs/design.md §6).
    acceptCompression: [],
    contextValues: blobCallContext,
    readMaxBytes: maxReceiveMessageBytes,
    shutdownSignal: shutdown.signal,
  });
  const calls = new InFlightCalls();
  const handle = (
    request: http.IncomingMessage | http2.Http2ServerRequest,
    response: http.ServerResponse | http2.Http2ServerResponse,
  ) => {
    calls.track(response);
    if (options.cors && applyCors(request, response, options.cors)) return;
    if (request instanceof http2.Http2ServerRequest && native(request, response as http2.Http2ServerResponse)) return;
    if (response instanceof http2.Http2ServerResponse) specGrpcMessageTrailers(response);
    connect(request, response);
  };

  const http2Options: http2.ServerOptions = {
    settings: { ...receiveSettings(options), maxConcurrentStreams },
    // Node refuses new streams once a session buffers more than this; the windows we open need room.
    maxSessionMemory: 64 + Math.ceil((2 * (options.connectionWindowBytes ?? 32 << 20)) / (1 << 20)),
  };
  let front: net.Server;
  let http1: http.Server | undefined;
  let http2Server: http2.Http2Server | http2.Http2SecureServer;
  if (options.tls) {
    http2Server = http2.createSecureServer({ ...options.tls, ...http2Options, allowHTTP1: true }, handle);
    front = http2Server;
  } else {
    http2Server = http2.createServer(http2Options, handle);
    // Long uploads from browsers must not hit Node's default 5-minute request timeout.
    http1 = http.createServer({ requestTimeout: 0 }, handle);
    const [h2, h1] = [http2Server, http1];
    front = net.createServer((socket) => sniffProtocol(socket, h2, h1));
  }
  const sockets = new Set<net.Socket>();
  front.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  http2Server.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    openConnectionWindow(session, options);
  });

  await listen(front, options.listen);
  const address = addressOf(front, options.tls !== undefined);

  let closing: Promise<void> | undefined;
  const close = (closeOptions?: CloseOptions): Promise<void> => {
    closing ??= (async () => {
      health?.stop();
      const closed = new Promise<void>((resolve) => front.close(() => resolve()));
      // GOAWAY: running calls go on, new ones go elsewhere. Only the frame for now: a session marked
      // closed can no longer send PINGs, which Puts need to confirm their end (upload-end.ts).
      // A session the client has just hung up on stays in the set until its 'close' event, and
      // goaway() on a destroyed session throws: skip those, they are gone already.
      for (const session of sessions) if (!session.destroyed) session.goaway(http2.constants.NGHTTP2_NO_ERROR);
      http1?.closeIdleConnections();
      if (!(await calls.settled(closeOptions?.timeoutMs ?? 10_000))) {
        shutdown.abort();
        await calls.settled(1_000); // cancelled calls send their status
      }
      shutdown.abort();
      for (const session of sessions) session.close();
      // Connections now close by themselves once their last response is written (HTTP/2 after its
      // GOAWAY, HTTP/1.1 once idle); destroying them at once could cut off those last bytes.
      http1?.closeIdleConnections();
      await Promise.race([closed, delay(1_000, undefined, { ref: false })]);
      for (const socket of sockets) socket.destroy();
      await closed;
    })();
    return closing;
  };

  return {
    address,
    health,
    close,
    [Symbol.asyncDispose]: () => close(),
  };
}
