import type { StoreStatistics } from "castore-core";
import type * as PromClient from "prom-client";

/** The store's statistics fields, as the Prometheus metrics that show them. */
const GAUGES = [
  ["blobs", "castore_store_blobs", "Blobs the store holds."],
  ["storedBytes", "castore_store_bytes", "Bytes of blob data the store holds, every chunk counted once."],
] as const satisfies readonly (readonly [keyof StoreStatistics, string, string])[];

const COUNTERS = [
  [
    "chunksWritten",
    "castore_chunks_written_total",
    "Chunks (and one-piece blobs) uploads stored that the store did not have.",
  ],
  [
    "chunksDeduplicated",
    "castore_chunks_deduplicated_total",
    "Chunks (and one-piece blobs) uploads carried that the store already had, not stored again.",
  ],
  ["evictions", "castore_store_evictions_total", "Blobs a bounded store evicted to stay under its max_size."],
  ["cacheHits", "castore_cache_hits_total", "Reads and chunks a cache served from its near tier."],
  ["cacheMisses", "castore_cache_misses_total", "Chunks and blobs a cache fetched from its far tier."],
  [
    "cacheFills",
    "castore_cache_fills_total",
    "Chunks and blobs a cache stored into its near tier after fetching them from far.",
  ],
] as const satisfies readonly (readonly [keyof StoreStatistics, string, string])[];

/**
 * Registers the served store's statistics (castore-core's StatisticsReporter capability) as
 * metrics with a `tier` label: `root` for the store itself, `near` / `far` for a cache's tiers
 * (`near.far` and so on for deeper compositions). They are read from the store at each scrape, so
 * serving calls costs nothing for them. A store that reports nothing, or leaves a field out, has
 * no sample for it.
 */
export function registerStoreMetrics(
  prom: typeof PromClient,
  registry: PromClient.Registry,
  readStore: () => StoreStatistics | undefined,
): void {
  const registers = [registry];
  const read = oncePerScrape(readStore);
  for (const [field, name, help] of GAUGES) {
    new prom.Gauge({
      name,
      help,
      labelNames: ["tier"],
      registers,
      collect() {
        this.reset();
        for (const [tier, value] of samples(read(), field)) this.set({ tier }, value);
      },
    });
  }
  for (const [field, name, help] of COUNTERS) {
    new prom.Counter({
      name,
      help: `${help} Since the daemon started.`,
      labelNames: ["tier"],
      registers,
      collect() {
        // The store keeps the running total; the counter shows it as it is now.
        this.reset();
        for (const [tier, value] of samples(read(), field)) this.inc({ tier }, value);
      },
    });
  }
}

/**
 * `read`, called at most once per scrape: prom-client starts every metric's collect() of a scrape in
 * one synchronous pass, so they all see one snapshot (consistent figures, one call into the store),
 * forgotten at the next microtask so that the next scrape reads afresh.
 */
function oncePerScrape<T>(read: () => T): () => T {
  let snapshot: { value: T } | undefined;
  return () => {
    if (!snapshot) {
      snapshot = { value: read() };
      queueMicrotask(() => {
        snapshot = undefined;
      });
    }
    return snapshot.value;
  };
}

/** `[tier, value]` for every tier of `statistics` that reports `field`, the root first. */
function* samples(
  statistics: StoreStatistics | undefined,
  field: keyof Omit<StoreStatistics, "tiers">,
  tier = "root",
): Generator<[string, number]> {
  if (!statistics) return;
  const value = statistics[field];
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) yield [tier, value];
  for (const [name, inner] of Object.entries(statistics.tiers ?? {})) {
    yield* samples(inner, field, tier === "root" ? name : `${tier}.${name}`);
  }
}
