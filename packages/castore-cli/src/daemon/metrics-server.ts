import { chmod } from "node:fs/promises";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { AllowedHosts } from "castore-grpc";
import { formatHostPort, type ListenAddress } from "../listen-address.js";
import { describeListenFailure, prepareSocketPath } from "./socket-path.js";

/** Where Prometheus scrapes. */
export const METRICS_PATH = "/metrics";

export interface MetricsServerOptions {
  /** The Prometheus text exposition and its content type. */
  scrape(): Promise<{ body: string; contentType: string }>;
  /** The daemon's --allowed-host entries: the same Host check as its gRPC listener. */
  allowedHosts: AllowedHosts | undefined;
  /** Permissions of a unix socket (default 0600). */
  socketMode: number | undefined;
  onError(error: unknown): void;
}

export interface MetricsServer {
  /** The URL to scrape: http://host:port/metrics, or unix:/path for a socket. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The daemon's metrics listener: its own address, answering `GET /metrics` (and HEAD) and nothing
 * else (other paths 404, other methods 405). On TCP it applies the gRPC listener's Host check
 * (421 otherwise: a web page cannot read it through DNS rebinding). It never reads a request body,
 * and holds a connection only briefly.
 */
export async function startMetricsServer(listen: ListenAddress, options: MetricsServerOptions): Promise<MetricsServer> {
  // Unix sockets have no Host to check; a TCP listener refuses every request until its check is set up.
  let allowsHost: (authority: string | undefined) => boolean = () => listen.kind === "unix";
  const server = http.createServer(
    { requestTimeout: 10_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 },
    (request, response) => {
      const answer = (status: number, body: string, headers: http.OutgoingHttpHeaders = {}) => {
        response.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...headers });
        response.end(request.method === "HEAD" ? undefined : body);
      };
      if (!allowsHost(request.headers.host)) return answer(421, "this server does not serve that host name\n");
      const path = (request.url ?? "").split("?", 1)[0];
      if (path !== METRICS_PATH) return answer(404, `not found: metrics are at ${METRICS_PATH}\n`);
      if (request.method !== "GET" && request.method !== "HEAD") {
        return answer(405, "method not allowed\n", { allow: "GET, HEAD" });
      }
      options.scrape().then(
        ({ body, contentType }) => answer(200, body, { "content-type": contentType }),
        (error: unknown) => {
          options.onError(error);
          answer(500, "collecting metrics failed\n");
        },
      );
    },
  );
  server.maxConnections = 64;
  server.on("clientError", (_error, socket) => socket.destroy());
  const display = listen.kind === "unix" ? `unix:${listen.path}` : formatHostPort(listen.host, listen.port);
  try {
    if (listen.kind === "unix") await prepareSocketPath(listen.path);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(listen.kind === "unix" ? { path: listen.path } : { host: listen.host, port: listen.port }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    if (listen.kind === "unix") await chmod(listen.path, options.socketMode ?? 0o600);
  } catch (error) {
    server.close();
    throw describeListenFailure(error, `${display} (--metrics-address)`);
  }
  let url: string;
  if (listen.kind === "unix") {
    url = `unix:${listen.path}`;
  } else {
    const bound = server.address() as AddressInfo;
    // Loaded already: the daemon serves with castore-grpc.
    const { hostCheckFor } = await import("castore-grpc");
    allowsHost = hostCheckFor(options.allowedHosts, { host: listen.host, address: bound.address, port: bound.port });
    const host = bound.address === "0.0.0.0" ? "127.0.0.1" : bound.address === "::" ? "::1" : bound.address;
    url = `http://${formatHostPort(host, bound.port)}${METRICS_PATH}`;
  }
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
