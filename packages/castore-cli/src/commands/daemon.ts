import { type BlobService, statisticsOf } from "castore-core";
import { expectPositionals, stringOption } from "../args.js";
import type { Command } from "../command.js";
import { LoggedBlobService } from "../daemon/logged-service.js";
import { DaemonMetrics, storeLabel } from "../daemon/metrics.js";
import { type MetricsServer, startMetricsServer } from "../daemon/metrics-server.js";
import { RequestIds } from "../daemon/request-ids.js";
import { securityOptionSpecs, serverSettings } from "../daemon/security-options.js";
import { storeAddressesOf } from "../daemon/self-reference.js";
import { type RunningServer, startServer } from "../daemon/server.js";
import { describeError, ExitCode, type InterruptedError, UsageError } from "../errors.js";
import { DEFAULT_LISTEN_ADDRESS, type ListenAddress, parseListenAddress } from "../listen-address.js";
import { chooseStore, openStore } from "../store.js";
import { tracingEnabled } from "../tracing.js";

/** How long shutdown waits for running requests (reads) before it closes their connections. */
const SHUTDOWN_GRACE_MS = 5_000;

export const daemonCommand: Command = {
  name: "daemon",
  summary: "serve a store over gRPC (and gRPC-Web/Connect)",
  options: {
    "listen-address": { type: "string" },
    "blob-service-addr": { type: "string" },
    config: { type: "string" },
    "metrics-address": { type: "string" },
    ...securityOptionSpecs,
  },
  help: () => `Usage: castore daemon [options]

Serves a store over gRPC (tvix.castore.v1.BlobService, also as snix.castore.v1) together with the
standard gRPC health service, until SIGINT or SIGTERM. Clients reach it with
--blob-service-addr grpc+http://HOST:PORT or grpc+unix:///PATH.

Options:
      --listen-address ADDR    host:port (default ${DEFAULT_LISTEN_ADDRESS}; port 0 picks a free port)
                               or unix:/path/to/socket
      --blob-service-addr URL  the store to serve (default: the embedded SQLite store
                               $XDG_DATA_HOME/castore/blobs.sqlite; see 'castore --help').
                               The daemon does not read CASTORE_BLOB_SERVICE_ADDR.
      --config FILE            serve the root store of a configuration file (.toml or .json)
                               instead: named stores, cache tiers (see the README)
      --log-level LEVEL        error, warn, info (default) or debug (one line per request)
      --metrics-address ADDR   serve Prometheus metrics at http://ADDR/metrics (host:port, or
                               unix:/path); off by default. Same Host check as the gRPC address.

Tracing: the standard OpenTelemetry environment turns it on (OTEL_EXPORTER_OTLP_ENDPOINT,
OTEL_TRACES_EXPORTER=otlp|console, OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf|http/json,
OTEL_SERVICE_NAME; default service name castore-daemon): a span per call, continuing the
client's trace. Every log line of a call carries its id ("call": the trace id when tracing).
  -h, --help                   show this help

Security (see the README's "Security" section):
      --allowed-host NAME      also serve requests whose Host is NAME (or NAME:PORT); repeatable.
                               By default only the listen address, localhost, 127.0.0.1 and [::1]
                               with the port are served (others get 421). '*' turns the check off.
      --cors-allow-origin ORIGIN  let browser pages from ORIGIN call the daemon; repeatable
      --tls-cert FILE --tls-key FILE  serve TLS (gRPC over h2, gRPC-Web/Connect over HTTP/1.1)
      --auth-token-file FILE   require "authorization: Bearer <token in FILE>" on every call
                               but health checks; clients take it from CASTORE_AUTH_TOKEN or
                               ?auth-token-file=FILE on their grpc+ address
      --socket-mode MODE       permissions of a unix socket (default 0600: only its owner)

Limits (defaults in brackets):
      --headers-timeout S      a connection's time to send its request headers [30]
      --idle-timeout S         how long a connection may stay open without a call [60]
      --stalled-body-timeout S a request body that sends nothing this long fails [30]
      --max-connections N      connections open at once [1024]
      --max-calls N            calls in progress at once (health checks have 64 of their
                               own); more are refused UNAVAILABLE (Connect: HTTP 503) [4096]
      --max-buffered-mib N     memory for buffered blob data and HTTP/2 windows [256]

Output: one startup line on stdout, "castore daemon listening on <client address> (store <url>)";
logs on stderr as JSON lines ({"time","level","msg",…}).
On SIGINT/SIGTERM it stops accepting, aborts unfinished uploads (they store nothing), lets running
reads finish for up to ${SHUTDOWN_GRACE_MS / 1000} s, closes the store and exits 0. A second Ctrl-C (SIGINT) exits at once; repeated SIGTERMs are ignored.
`,

  async run(line, context) {
    expectPositionals(line, 0, 0, "");
    const { logger, signal } = context;
    const listen = parseListenAddress(stringOption(line, "listen-address") ?? DEFAULT_LISTEN_ADDRESS);
    const metricsText = stringOption(line, "metrics-address");
    const metricsListen = metricsText === undefined ? undefined : parseListenAddress(metricsText, "--metrics-address");
    const choice = chooseStore(
      stringOption(line, "blob-service-addr"),
      context.env,
      false,
      stringOption(line, "config"),
    );
    for (const address of await storeAddressesOf(choice)) refuseToServeItself(address, listen, choice.address);
    const settings = await serverSettings(line);

    // Loaded only when asked for: a daemon without metrics pays nothing for them.
    // The store opens below; its statistics are read at scrapes, which come after it has opened.
    let storeOpened: BlobService | undefined;
    const metrics = metricsListen
      ? new DaemonMetrics(await import("prom-client"), storeLabel(choice.address), () =>
          storeOpened ? statisticsOf(storeOpened) : undefined,
        )
      : undefined;
    const requestIds = new RequestIds();
    logger.setContext(requestIds.fields);
    const grpc = await import("castore-grpc");
    const observer = grpc.combineObservers(
      // First, so that its span is the context the call's id is taken from.
      ...(tracingEnabled(context.env) ? [grpc.traceCalls()] : []),
      requestIds.observer(logger),
      ...(metrics ? [metrics.observer()] : []),
    );

    const store = await openStore(choice, logger, signal);
    storeOpened = store;
    const served = new LoggedBlobService(store, logger, metrics);
    let server: RunningServer;
    let metricsServer: MetricsServer | undefined;
    try {
      server = await startServer(served, listen, logger, settings, observer);
      if (metrics && metricsListen) {
        metricsServer = await startMetricsServer(metricsListen, {
          scrape: async () => ({ body: await metrics.registry.metrics(), contentType: metrics.registry.contentType }),
          allowedHosts: settings.allowedHosts,
          socketMode: settings.socketMode,
          onError: (error) => logger.error("collecting metrics failed", { error }),
        }).catch(async (error: unknown) => {
          await server.close(0);
          throw error;
        });
      }
    } catch (error) {
      await store.close();
      throw error;
    }
    context.stdout.write(`castore daemon listening on ${server.address} (store ${choice.address})\n`);
    logger.info("listening", { address: server.address, store: choice.address, pid: process.pid });
    if (metricsServer) logger.info("metrics listening", { url: metricsServer.url });

    const interrupt = await abortReason(signal);
    logger.info("shutting down", { signal: interrupt?.signal, uploads: served.unfinishedUploads });
    try {
      await shutDown(server, served, store);
      await metricsServer?.close();
    } catch (error) {
      // Reported as what it is: the command-level handler would call any error after a signal
      // just "interrupted".
      logger.error("shutdown failed", { error: describeError(error) });
      return ExitCode.Failure;
    }
    logger.info("stopped");
    return ExitCode.Ok;
  },
};

async function shutDown(server: RunningServer, served: LoggedBlobService, store: BlobService): Promise<void> {
  // Stop accepting first, so that no upload starts after the unfinished ones are aborted; reads
  // in progress get the grace period.
  const closing = server.close(SHUTDOWN_GRACE_MS);
  await served.abortUploads("the daemon is shutting down");
  await closing;
  await store.close();
}

/** Waits for the interrupt signal and returns its reason. */
function abortReason(signal: AbortSignal): Promise<InterruptedError | undefined> {
  return new Promise((resolve) => {
    const done = () => resolve(signal.reason as InterruptedError | undefined);
    if (signal.aborted) done();
    else signal.addEventListener("abort", done, { once: true });
  });
}

/** Whether a client of `host` reaches a daemon listening on `listenHost` (same port assumed). */
function sameListener(host: string, listenHost: string): boolean {
  const bare = (name: string) => name.replace(/^\[|\]$/g, "").toLowerCase();
  const [client, server] = [bare(host), bare(listenHost)];
  if (client === server) return true;
  // localhost is 127.0.0.1 or ::1, whichever the resolver gives first.
  const localhost = (a: string, b: string) => a === "localhost" && (b === "127.0.0.1" || b === "::1");
  if (localhost(client, server) || localhost(server, client)) return true;
  // A wildcard listener answers on every address, loopback ones included ("::" on IPv4 ones too).
  const loopback = client === "localhost" || client === "::1" || /^127\.\d+\.\d+\.\d+$/.test(client);
  return loopback && (server === "0.0.0.0" || server === "::");
}

/** A daemon whose store is a client of its own address would forward every request to itself. */
function refuseToServeItself(storeAddress: string, listen: ListenAddress, chosen: string): void {
  let url: URL;
  try {
    url = new URL(storeAddress);
  } catch {
    return; // opening the store reports the malformed address
  }
  const scheme = url.protocol.toLowerCase();
  const loops =
    listen.kind === "unix"
      ? scheme === "grpc+unix:" && decodeURIComponent(url.pathname) === listen.path
      : (scheme === "grpc+http:" || scheme === "grpc+https:") &&
        listen.port !== 0 &&
        url.port === String(listen.port) &&
        sameListener(url.hostname, listen.host);
  if (!loops) return;
  const where = chosen === storeAddress ? `--blob-service-addr ${storeAddress}` : `${storeAddress} (in ${chosen})`;
  throw new UsageError(`${where} is the daemon's own --listen-address`);
}
