import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import type * as tls from "node:tls";
import { Code } from "@connectrpc/connect";
import { type BlobService, InvalidArgumentError } from "castore-core";
import { primeMallocThresholds } from "castore-core/node";
import {
  checkFlowControlOptions,
  DEFAULT_CONNECTION_WINDOW_BYTES,
  type FlowControlOptions,
  openConnectionWindow,
  receiveSettings,
} from "../flow-control.js";
import { MAX_MESSAGE_BYTES, positiveInteger } from "../options.js";
import { DEFAULT_MAX_RECEIVE_MESSAGE_BYTES, DEFAULT_MESSAGE_BYTES, PROTO_PACKAGES } from "../protocol.js";
import { type AllowedHosts, HostCheck } from "./allowed-hosts.js";
import { BearerToken } from "./auth-token.js";
import { ByteBudget, FreeAllowance } from "./byte-budget.js";
import { watchCall } from "./call-limits.js";
import { observeCall } from "./call-record.js";
import { CallSlots } from "./call-slots.js";
import { connectHandler } from "./connect-handler.js";
import { blobCallContext, blobServiceRoutes } from "./connect-routes.js";
import { applyCors, type CorsOptions } from "./cors.js";
import { specGrpcMessageTrailers } from "./grpc-message.js";
import { HealthStatus, healthRoutes } from "./health.js";
import { InFlightCalls } from "./in-flight.js";
import { addressOf, type ListenAddress, listen, sniffProtocol } from "./listen.js";
import { createNativeBlobHandler } from "./native-grpc.js";
import type { RefusalReason, ServerObserver } from "./observer.js";
import { refuse } from "./refuse.js";
import { enforceSessionTimeouts } from "./session-timeouts.js";
import { recordStatus } from "./status-interceptor.js";
import { INITIAL_STREAM_WINDOW_BYTES, shareStreamWindows } from "./stream-windows.js";
import { uploadServiceRoutes } from "./upload-routes.js";

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
  /**
   * TCP only: the `Host` / `:authority` values served; others get HTTP 421 (gRPC: PERMISSION_DENIED)
   * and reach nothing. The listen address, `localhost`, `127.0.0.1` and `[::1]` with the port are
   * always allowed; entries add `name` (any port) or `name:port`. `"*"` turns the check off (behind
   * a reverse proxy that checks it). This stops web pages that resolve their own name to this
   * machine (DNS rebinding) from calling the server.
   */
  allowedHosts?: AllowedHosts | undefined;
  /**
   * Require `authorization: Bearer <token>` on every call except health checks (grpc.health.v1
   * Check; Watch needs it); a missing or wrong token is UNAUTHENTICATED (HTTP 401 for the Connect
   * protocol) and touches nothing.
   */
  authToken?: string | undefined;
  /** How long a connection has to send its first request's headers (HTTP/2: preface and first HEADERS). Default 30 s. */
  headersTimeoutMs?: number | undefined;
  /** How long a connection may stay open without a call on it. Default 60 s. */
  idleTimeoutMs?: number | undefined;
  /** A call whose request body receives nothing for this long fails with DEADLINE_EXCEEDED (a Put stores nothing). Default 30 s. */
  stalledBodyTimeoutMs?: number | undefined;
  /** Most connections open at once; more are closed as they come. Default 1024. */
  maxConnections?: number | undefined;
  /**
   * Most calls in progress at once, over all connections; more are refused with UNAVAILABLE (HTTP
   * 503 for the Connect protocol: retry later) and touch nothing. Health checks (Check) are not
   * counted here: they have 64 places of their own, so a server at its cap still answers them.
   * Default 4096.
   */
  maxCalls?: number | undefined;
  /**
   * The bytes all calls together may buffer (uploads on their way to the store, downloads on their
   * way out) and the HTTP/2 receive windows opened beyond the protocol's 64 KiB, half each. When it
   * is spent, calls wait for it and their clients' senders stop (flow control). Default 256 MiB.
   */
  maxBufferedBytes?: number | undefined;
  /** Told about failures that are not castore errors (bugs, backend crashes). Default: console.error. */
  onError?: ((error: unknown) => void) | undefined;
  /**
   * Told about requests refused or failed because of what the client sent (malformed requests, a
   * wrong host or token, stalled bodies). Meant for rate-limited logs at debug or warn. Default: ignored.
   */
  onClientError?: ((error: unknown) => void) | undefined;
  /**
   * Told about every call (service, method, protocol, status, duration, bytes, digest), refusal and
   * connection, e.g. to feed metrics or start a trace span per call (see `traceCalls`). Without
   * one the server keeps none of this. Combine several with `combineObservers`.
   */
  observer?: ServerObserver | undefined;
}

/** The first bytes of a call never wait for the byte budget, so that small calls pass big ones... */
const FREE_BYTES_PER_CALL = 64 << 10;
/**
 * ...while its connection's free allowance lasts: four such calls at once. What the server holds
 * outside its budget is then bounded by its connections, not by its calls (docs/design.md §6).
 */
const FREE_BYTES_PER_CONNECTION = 4 * FREE_BYTES_PER_CALL;
/** HTTP/2's initial connection window, which every connection has without asking. */
const PROTOCOL_WINDOW_BYTES = 65_535;
const HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check";
/**
 * Health checks in progress at once, apart from `maxCalls`: a server full of calls still answers its
 * orchestrator, and health checks, which need no token, cannot fill it. (Watch, which never ends,
 * needs the token and is counted like any other call.)
 */
const HEALTH_CHECKS = 64;
/**
 * When a client turned away by `maxCalls` is told to try again: calls in progress end within the
 * stall timeout at worst, most far sooner; a second spreads retries without making clients wait
 * long on a server that has room again.
 */
const RETRY_AFTER_FULL_MS = 1_000;

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
  // Measured: a fresh server took a 1 GiB Put at 0.34 GB/s unprimed and 0.54 primed (median of five).
  primeMallocThresholds();
  const maxReceiveMessageBytes =
    positiveInteger("maxReceiveMessageBytes", options.maxReceiveMessageBytes, MAX_MESSAGE_BYTES) ??
    DEFAULT_MAX_RECEIVE_MESSAGE_BYTES;
  const readMessageBytes =
    positiveInteger("readChunkBytes", options.readChunkBytes, MAX_MESSAGE_BYTES) ?? DEFAULT_MESSAGE_BYTES;
  const maxConcurrentStreams =
    positiveInteger("maxConcurrentStreams", options.maxConcurrentStreams, 2 ** 32 - 1) ?? 100;
  checkFlowControlOptions(options);
  const headersTimeoutMs = positiveInteger("headersTimeoutMs", options.headersTimeoutMs, 2 ** 31 - 1) ?? 30_000;
  const idleTimeoutMs = positiveInteger("idleTimeoutMs", options.idleTimeoutMs, 2 ** 31 - 1) ?? 60_000;
  const stalledBodyTimeoutMs =
    positiveInteger("stalledBodyTimeoutMs", options.stalledBodyTimeoutMs, 2 ** 31 - 1) ?? 30_000;
  const maxConnections = positiveInteger("maxConnections", options.maxConnections) ?? 1024;
  const slots = new CallSlots(positiveInteger("maxCalls", options.maxCalls) ?? 4096);
  const healthCheckSlots = new CallSlots(HEALTH_CHECKS);
  const maxBufferedBytes = positiveInteger("maxBufferedBytes", options.maxBufferedBytes) ?? 256 << 20;
  // Half for the data calls hold; a quarter for receive windows, whose bytes Node keeps in slices of
  // larger read buffers (a 16 KiB frame can hold a 64 KiB buffer alive): the rest is that headroom.
  const dataBudget = new ByteBudget(Math.ceil(maxBufferedBytes / 2));
  const windowBudget = new ByteBudget(Math.floor(maxBufferedBytes / 4));
  const token = options.authToken === undefined ? undefined : new BearerToken(options.authToken);
  if (options.authToken === "") throw new InvalidArgumentError("authToken must not be empty");
  const tcp = !("path" in options.listen);
  const hostNames = tcp && options.allowedHosts !== "*" ? new HostCheck(options.allowedHosts ?? []) : undefined;
  const onClientError = options.onClientError ?? (() => {});
  const onInternalError = options.onError ?? ((error: unknown) => console.error("castore-grpc server:", error));
  const shutdown = new AbortController();
  const observer = options.observer;
  const onObserverError = (error: unknown) =>
    onInternalError(new Error("the server's observer failed", { cause: error }));
  const refused = observer?.refused
    ? (reason: RefusalReason) => {
        try {
          observer.refused?.(reason);
        } catch (error) {
          onObserverError(error);
        }
      }
    : undefined;
  const health = options.health ? new HealthStatus(PROTO_PACKAGES.map((p) => `${p}.BlobService`)) : undefined;

  const native = createNativeBlobHandler({
    service,
    readMessageBytes,
    maxReceiveMessageBytes,
    shutdownSignal: shutdown.signal,
    onInternalError,
    onClientError,
    freeBytesPerCall: FREE_BYTES_PER_CALL,
    stalledSendTimeoutMs: stalledBodyTimeoutMs,
    observed: observer !== undefined,
  });
  const connect = connectHandler({
    routes(router) {
      blobServiceRoutes(router, {
        service,
        readMessageBytes,
        maxReceiveMessageBytes,
        freeBytesPerCall: FREE_BYTES_PER_CALL,
        budgetWaitMs: stalledBodyTimeoutMs,
        stalledSendTimeoutMs: stalledBodyTimeoutMs,
        shutdownSignal: shutdown.signal,
        onInternalError,
        observed: observer !== undefined,
      });
      uploadServiceRoutes(router, { service, shutdownSignal: shutdown.signal, onInternalError });
      if (health) healthRoutes(router, health);
    },
    // Blobs are mostly incompressible; gzip would only slow them down (docs/design.md §6).
    acceptCompression: [],
    contextValues: blobCallContext,
    interceptors: observer ? [recordStatus] : [],
    readMaxBytes: maxReceiveMessageBytes,
    shutdownSignal: shutdown.signal,
    onClientError,
    onInternalError,
  });
  const calls = new InFlightCalls();
  /** Hands an accepted request to its handler: native gRPC Read and Put, Connect for the rest. */
  const dispatch = (
    request: http.IncomingMessage | http2.Http2ServerRequest,
    response: http.ServerResponse | http2.Http2ServerResponse,
  ): void => {
    if (request instanceof http2.Http2ServerRequest && native(request, response as http2.Http2ServerResponse)) return;
    if (response instanceof http2.Http2ServerResponse) specGrpcMessageTrailers(response);
    connect(request, response);
  };
  const allowances = new WeakMap<object, FreeAllowance>();
  /** The free allowance of a request's connection (its HTTP/2 session, or its HTTP/1.1 socket). */
  const allowanceOf = (request: http.IncomingMessage | http2.Http2ServerRequest): FreeAllowance => {
    const connection =
      (request instanceof http2.Http2ServerRequest ? request.stream.session : request.socket) ?? request;
    let allowance = allowances.get(connection);
    if (!allowance) {
      allowance = new FreeAllowance(FREE_BYTES_PER_CONNECTION);
      allowances.set(connection, allowance);
    }
    return allowance;
  };
  let hostCheck: HostCheck | undefined;
  // Every request passes here, whatever it carries: nothing a client sends may end the process,
  // so whatever throws is that request's failure (answered, reported once) and no one else's.
  const handle = (
    request: http.IncomingMessage | http2.Http2ServerRequest,
    response: http.ServerResponse | http2.Http2ServerResponse,
  ) => {
    try {
      calls.track(response);
      if (hostCheck && !hostCheck.allows(authorityOf(request))) {
        onClientError(new Error(`refused a request for host ${JSON.stringify(authorityOf(request) ?? "")}`));
        refused?.("host");
        refuse(
          request,
          response,
          Code.PermissionDenied,
          "this server does not serve that host name",
          421,
          stalledBodyTimeoutMs,
        );
        return;
      }
      if (options.cors && applyCors(request, response, options.cors)) return;
      const healthCheck = isHealthCheck(request);
      if (token && !healthCheck && !token.matches(request.headers.authorization)) {
        onClientError(new Error("refused a request without the right bearer token"));
        refused?.("auth");
        refuse(request, response, Code.Unauthenticated, "a valid bearer token is required", 401, stalledBodyTimeoutMs);
        return;
      }
      // Health checks have places of their own: a full server still answers them.
      const places = healthCheck ? healthCheckSlots : slots;
      if (!places.tryTake(response)) {
        const what = healthCheck ? "health checks" : "calls (maxCalls)";
        onClientError(new Error(`refused a call: ${places.capacity} ${what} are in progress`));
        refused?.("max-calls");
        refuse(
          request,
          response,
          Code.Unavailable,
          "the server is handling as many calls as it takes",
          503,
          stalledBodyTimeoutMs,
          RETRY_AFTER_FULL_MS,
        );
        return;
      }
      const allowance = allowanceOf(request);
      // A health check's request is a few bytes: it must arrive whole within the stall timeout, or
      // 64 clients trickling a byte at a time would hold every health check's place.
      const limits = watchCall(request, response, stalledBodyTimeoutMs, dataBudget, allowance, refused, {
        wholeBody: healthCheck,
      });
      response.once("close", () => limits.stall.stop());
      const watcher = observer && observeCall(observer, request, response, onObserverError);
      if (watcher?.run) watcher.run(() => dispatch(request, response));
      else dispatch(request, response);
    } catch (error) {
      onClientError(error);
      refused?.("malformed");
      try {
        refuse(request, response, Code.InvalidArgument, "malformed request", 400, stalledBodyTimeoutMs);
      } catch {
        response.destroy();
      }
    }
  };

  const http2Options: http2.ServerOptions = {
    // Streams start small and grow as the session's allowance permits (stream-windows.ts).
    settings: { initialWindowSize: INITIAL_STREAM_WINDOW_BYTES, maxConcurrentStreams },
    // Timeouts are ours (session-timeouts.ts, call-limits.ts); Node's would count PINGs as use.
    // Node refuses new streams once a session buffers more than this; the windows we open need room.
    maxSessionMemory: 64 + Math.ceil((2 * (options.connectionWindowBytes ?? 32 << 20)) / (1 << 20)),
  };
  let front: net.Server;
  let http1: http.Server | undefined;
  let http2Server: http2.Http2Server | http2.Http2SecureServer;
  // HTTP/1.1: headers must be complete within headersTimeoutMs (checked every second or so); a
  // long upload must not hit Node's 5-minute request timeout (stalled bodies are ours to catch).
  const http1Timeouts = {
    requestTimeout: 0,
    headersTimeout: headersTimeoutMs,
    keepAliveTimeout: Math.min(5_000, idleTimeoutMs),
    connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(headersTimeoutMs / 4))),
  };
  if (options.tls) {
    http2Server = http2.createSecureServer(
      { ...options.tls, ...http2Options, ...http1Timeouts, allowHTTP1: true, handshakeTimeout: headersTimeoutMs },
      handle,
    );
    Object.assign(http2Server, http1Timeouts);
    front = http2Server;
  } else {
    http2Server = http2.createServer(http2Options, handle);
    http1 = http.createServer(http1Timeouts, handle);
    // Node checks headersTimeout from a timer it starts on 'listening'; this server never listens
    // itself (connections come from the sniffer), so start it here (close() stops it).
    http1.emit("listening");
    const [h2, h1] = [http2Server, http1];
    front = net.createServer((socket) => sniffProtocol(socket, h2, h1, headersTimeoutMs));
  }
  front.maxConnections = maxConnections;
  const sockets = new Set<net.Socket>();
  front.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  if (observer?.connectionOpened || observer?.connectionClosed) {
    front.on("connection", (socket: net.Socket) => {
      try {
        observer.connectionOpened?.();
      } catch (error) {
        onObserverError(error);
      }
      socket.once("close", () => {
        try {
          observer.connectionClosed?.();
        } catch (error) {
          onObserverError(error);
        }
      });
    });
  }
  // Node closes connections beyond maxConnections as they come, and says so with 'drop'.
  if (refused) front.on("drop", () => refused("max-connections"));
  const sessions = new Set<http2.ServerHttp2Session>();
  http2Server.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    enforceSessionTimeouts(session, { headersTimeoutMs, idleTimeoutMs });
    // A larger window lets a client send that much more before the server reads it: only while
    // the budget lasts. Connections beyond it keep the protocol's 64 KiB (slower, never unbounded).
    const extra = (options.connectionWindowBytes ?? DEFAULT_CONNECTION_WINDOW_BYTES) - PROTOCOL_WINDOW_BYTES;
    const granted = extra > 0 && windowBudget.tryTake(extra);
    if (granted) {
      session.once("close", () => windowBudget.give(extra));
      openConnectionWindow(session, options);
    }
    const streamWindow = receiveSettings(options).initialWindowSize ?? INITIAL_STREAM_WINDOW_BYTES;
    shareStreamWindows(session, granted ? extra : 1 << 20, streamWindow);
  });

  await listen(front, options.listen);
  const address = addressOf(front, options.tls !== undefined);
  if (hostNames) {
    const bound = front.address() as net.AddressInfo;
    const listenHost = "host" in options.listen ? (options.listen.host ?? "127.0.0.1") : "127.0.0.1";
    hostCheck = hostNames.bind([listenHost, bound.address], bound.port);
  }

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
      // The wait must hold the process open itself: a connection whose session has stopped reading
      // and has nothing left to write does not keep Node's event loop alive, and with only an
      // unref'd timer here a daemon exited mid-shutdown with this promise unsettled (status 13).
      const lastBytes = new AbortController();
      await Promise.race([closed, delay(1_000, undefined, { signal: lastBytes.signal }).catch(() => {})]);
      lastBytes.abort();
      http1?.close(() => {});
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

/** A grpc.health.v1 Check, in any protocol (the Connect protocol may send it as a GET with a query). */
function isHealthCheck(request: http.IncomingMessage | http2.Http2ServerRequest): boolean {
  const url = request.url ?? "";
  return url === HEALTH_CHECK_PATH || url.startsWith(`${HEALTH_CHECK_PATH}?`);
}

/** The host a request names: `:authority` over HTTP/2, `Host` otherwise (undefined when it names none). */
function authorityOf(request: http.IncomingMessage | http2.Http2ServerRequest): string | undefined {
  const authority = request.headers[":authority"] ?? request.headers.host;
  return typeof authority === "string" && authority !== "" ? authority : undefined;
}
