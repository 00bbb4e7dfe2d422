import type { StoreStatistics } from "castore-core";
import type { CallProtocol, RefusalReason, ServerObserver } from "castore-grpc";
import type * as PromClient from "prom-client";
import { registerStoreMetrics } from "./store-metrics.js";

/** What the served store reports as it works (see LoggedBlobService). */
export interface StoreEvents {
  /** A Put stored a blob of `bytes` (new, or one the store already had: stores do not say which). */
  blobStored(bytes: number): void;
  /** A read found stored bytes that do not hash to their digest. */
  integrityFailure(): void;
}

/**
 * One service, method and protocol's calls so far. The call path only adds to these numbers (a
 * prom-client update hashes and validates its labels every time: several per call); the metrics
 * read them when Prometheus scrapes.
 */
interface CallSeries {
  readonly labels: { service: string; method: string; protocol: CallProtocol };
  /** The labels of the duration histogram and the byte counters. */
  readonly durationLabels: { service: string; method: string };
  inFlight: number;
  /** Calls ended, by status name. */
  readonly calls: Map<string, number>;
  received: number;
  sent: number;
}

/** Seconds: a Stat on a warm store takes well under a millisecond, a large Read minutes. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * The daemon's Prometheus metrics, in a registry of their own: calls (by service, method, protocol
 * and status), calls in flight, latency per method, blob bytes in and out, blobs stored, integrity
 * failures, refusals, connections, the store's own statistics where it reports them (chunks written
 * and deduplicated, blobs and bytes held, a cache's hits, misses and fills, evictions; read at each
 * scrape, see store-metrics.ts), and prom-client's process metrics (event-loop lag, heap, RSS).
 * prom-client is passed in: it is loaded only when metrics are asked for.
 */
export class DaemonMetrics implements StoreEvents {
  readonly registry: PromClient.Registry;
  /** Calls, in flight, bytes: plain numbers on the call path, handed to prom-client at each scrape. */
  readonly #calls = new Map<string, CallSeries>();
  readonly #duration: PromClient.Histogram<"service" | "method">;
  readonly #blobsStored: PromClient.Counter;
  readonly #bytesStored: PromClient.Counter;
  readonly #integrity: PromClient.Counter<"store">;
  readonly #refused: PromClient.Counter<"reason">;
  readonly #connections: PromClient.Counter;
  readonly #open: PromClient.Gauge;
  readonly #store: string;

  /**
   * @param store the store's kind, the `store` label of integrity failures
   * @param statistics reads the served store's statistics (castore-core's `statisticsOf`)
   */
  constructor(prom: typeof PromClient, store: string, statistics: () => StoreStatistics | undefined = () => undefined) {
    const registry = new prom.Registry();
    this.registry = registry;
    this.#store = store;
    const registers = [registry];
    const series = () => this.#calls.values();
    new prom.Counter({
      name: "castore_calls_total",
      help: "Calls served, by service, method, protocol (grpc, grpc-web, connect) and gRPC status.",
      labelNames: ["service", "method", "protocol", "code"],
      registers,
      collect() {
        this.reset();
        for (const { labels, calls } of series()) {
          for (const [code, count] of calls) this.inc({ ...labels, code }, count);
        }
      },
    });
    new prom.Gauge({
      name: "castore_calls_in_flight",
      help: "Calls being served now.",
      labelNames: ["service", "method", "protocol"],
      registers,
      collect() {
        this.reset();
        for (const { labels, inFlight } of series()) this.set(labels, inFlight);
      },
    });
    this.#duration = new prom.Histogram({
      name: "castore_call_duration_seconds",
      help: "Time from a call's arrival to its last byte sent, by method.",
      labelNames: ["service", "method"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    // By service and method: the protocols' figures are summed.
    const bytesCounter = (name: string, help: string, bytes: (series: CallSeries) => number) =>
      new prom.Counter({
        name,
        help,
        labelNames: ["service", "method"],
        registers,
        collect() {
          this.reset();
          for (const each of series()) {
            const value = bytes(each);
            if (value > 0) this.inc(each.durationLabels, value);
          }
        },
      });
    bytesCounter(
      "castore_received_bytes_total",
      "Blob bytes received (Put data; message framing not counted).",
      (each) => each.received,
    );
    bytesCounter(
      "castore_sent_bytes_total",
      "Blob bytes sent (Read data; message framing not counted).",
      (each) => each.sent,
    );
    this.#blobsStored = new prom.Counter({
      name: "castore_blobs_written_total",
      help: "Blobs the store accepted from uploads (including ones it already had).",
      registers,
    });
    this.#bytesStored = new prom.Counter({
      name: "castore_blob_bytes_written_total",
      help: "Bytes of the blobs the store accepted from uploads.",
      registers,
    });
    this.#integrity = new prom.Counter({
      name: "castore_integrity_failures_total",
      help: "Reads that found stored bytes not matching their digest, by store.",
      labelNames: ["store"],
      registers,
    });
    this.#refused = new prom.Counter({
      name: "castore_refused_requests_total",
      help: "Requests and connections refused before reaching a handler: host, auth, malformed, stalled-body, max-connections, max-calls.",
      labelNames: ["reason"],
      registers,
    });
    this.#connections = new prom.Counter({
      name: "castore_connections_total",
      help: "Connections accepted.",
      registers,
    });
    this.#open = new prom.Gauge({ name: "castore_connections_open", help: "Connections open now.", registers });
    // Present from the start at 0, so that rate() and alerts see them before the first event.
    this.#integrity.inc({ store: store }, 0);
    for (const reason of [
      "host",
      "auth",
      "malformed",
      "stalled-body",
      "max-connections",
      "max-calls",
    ] satisfies RefusalReason[]) {
      this.#refused.inc({ reason }, 0);
    }
    registerStoreMetrics(prom, registry, statistics);
    prom.collectDefaultMetrics({ register: registry });
  }

  /** The server observer that feeds these metrics. */
  observer(): ServerObserver {
    return {
      callStarted: ({ service, method, protocol }) => {
        const series = this.#series(service, method, protocol);
        series.inFlight++;
        return {
          ended: (end) => {
            series.inFlight--;
            series.calls.set(end.status, (series.calls.get(end.status) ?? 0) + 1);
            series.received += end.bytesReceived;
            series.sent += end.bytesSent;
            this.#duration.observe(series.durationLabels, end.durationMs / 1000);
          },
        };
      },
      refused: (reason) => this.#refused.inc({ reason }),
      connectionOpened: () => {
        this.#connections.inc();
        this.#open.inc();
      },
      connectionClosed: () => this.#open.dec(),
    };
  }

  /** The running figures of one service, method and protocol (a fixed few: see CallStart), made on first use. */
  #series(service: string, method: string, protocol: CallProtocol): CallSeries {
    const key = `${service} ${method} ${protocol}`;
    let series = this.#calls.get(key);
    if (!series) {
      series = {
        labels: { service, method, protocol },
        durationLabels: { service, method },
        inFlight: 0,
        calls: new Map(),
        received: 0,
        sent: 0,
      };
      this.#calls.set(key, series);
    }
    return series;
  }

  blobStored(bytes: number): void {
    this.#blobsStored.inc();
    this.#bytesStored.inc(bytes);
  }

  integrityFailure(): void {
    this.#integrity.inc({ store: this.#store });
  }
}

/** The store's kind, as the `store` label shows it: the address's scheme (sqlite, objectstore+file, grpc+http…). */
export function storeLabel(address: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(address)?.[1];
  return scheme ? scheme.toLowerCase() : "unknown";
}
