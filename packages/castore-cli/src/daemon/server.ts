import { setDefaultHighWaterMark } from "node:stream";
import type { BlobService } from "castore-core";
import type { ServerObserver } from "castore-grpc";
import { formatHostPort, type ListenAddress } from "../listen-address.js";
import type { Logger } from "../logger.js";
import { rateLimited } from "./rate-limited.js";
import type { ServerSettings } from "./security-options.js";
import { describeListenFailure, prepareSocketPath } from "./socket-path.js";

/** What each of the daemon's streams buffers before it stops reading (see startServer). */
const STREAM_BUFFER_BYTES = 16 << 10;

/** The daemon's gRPC server, as the daemon command uses it. */
export interface RunningServer {
  /** The address clients pass to --blob-service-addr (with the real port when :0 was asked for). */
  readonly address: string;
  /**
   * Stops accepting, lets running calls finish for up to `graceMs`, then cancels the rest (a
   * cancelled upload stores nothing) and closes every connection. Does not close the store.
   */
  close(graceMs: number): Promise<void>;
}

/**
 * Serves `service` over gRPC, gRPC-Web and Connect, plus the standard health service, on `listen`.
 * Failing to listen is one clear error naming the address.
 */
export async function startServer(
  service: BlobService,
  listen: ListenAddress,
  logger: Logger,
  settings: ServerSettings,
  observer: ServerObserver | undefined,
): Promise<RunningServer> {
  const display = listen.kind === "unix" ? `unix:${listen.path}` : formatHostPort(listen.host, listen.port);
  try {
    if (listen.kind === "unix") await prepareSocketPath(listen.path);
    // Node's streams buffer 64 KiB each by default, and a stalled upload's buffered 16 KiB frames
    // each keep a whole 64 KiB socket read buffer alive: with a thousand stalled uploads that alone
    // was a quarter of the daemon's memory. 16 KiB was Node's default before 22; blob data reaches
    // the store in 1 MiB pieces either way. Set before the server makes any stream.
    setDefaultHighWaterMark(false, STREAM_BUFFER_BYTES);
    // Imported here: the gRPC stack is slow to load, and only the daemon needs its server.
    const { serveBlobService } = await import("castore-grpc");
    // Client mistakes are the client's: a warning without a stack, ten a minute at most.
    const onClientError = rateLimited<unknown>(10, 60_000, (error, dropped) =>
      logger.warn("bad request", { error, ...(dropped > 0 ? { suppressed: dropped } : {}) }),
    );
    const server = await serveBlobService(service, {
      listen:
        listen.kind === "unix"
          ? { path: listen.path, mode: settings.socketMode }
          : { host: listen.host, port: listen.port },
      health: true,
      tls: settings.tls,
      allowedHosts: settings.allowedHosts,
      cors: settings.corsOrigins ? { allowedOrigins: settings.corsOrigins } : undefined,
      authToken: settings.authToken,
      headersTimeoutMs: settings.headersTimeoutMs,
      idleTimeoutMs: settings.idleTimeoutMs,
      stalledBodyTimeoutMs: settings.stalledBodyTimeoutMs,
      maxConnections: settings.maxConnections,
      maxCalls: settings.maxCalls,
      maxBufferedBytes: settings.maxBufferedBytes,
      observer,
      onError: (error) =>
        logger.error("internal error", { error, stack: error instanceof Error ? error.stack : undefined }),
      onClientError: (error) => (logger.enabled("warn") ? onClientError(error) : undefined),
    });
    return { address: connectable(server.address), close: (graceMs) => server.close({ timeoutMs: graceMs }) };
  } catch (error) {
    throw describeListenFailure(error, display);
  }
}

/** A server bound to every interface is reached through loopback from this machine. */
function connectable(address: string): string {
  return address.replace("//0.0.0.0:", "//127.0.0.1:").replace("//[::]:", "//[::1]:");
}
