import type { BlobService } from "./types.js";

/**
 * What a store can say about itself without real work, for metrics (the daemon's Prometheus
 * endpoint reads it on every scrape). Every field is optional: a store reports what it knows
 * cheaply and leaves out what it would have to count (an object store cannot know its size without
 * listing the bucket; a gRPC peer knows nothing).
 *
 * Gauges describe the store now; counters only grow, from zero when the service was opened in this
 * process (they are not persisted).
 */
export interface StoreStatistics {
  /** Gauge: blobs stored. */
  readonly blobs?: number | undefined;
  /** Gauge: bytes of blob data held, every chunk counted once (what deduplication saves shows here). */
  readonly storedBytes?: number | undefined;
  /** Counter: chunks (and one-piece blobs) uploads stored that the store did not have. */
  readonly chunksWritten?: number | undefined;
  /** Counter: chunks (and one-piece blobs) uploads carried that the store already had, so not stored again. */
  readonly chunksDeduplicated?: number | undefined;
  /** Counter: blobs a bounded store evicted to stay under its size. */
  readonly evictions?: number | undefined;
  /** Counter: chunks a cache served from its near tier. */
  readonly cacheHits?: number | undefined;
  /** Counter: chunks a cache had to fetch from its far tier. */
  readonly cacheMisses?: number | undefined;
  /** Counter: chunks and blobs a cache stored into its near tier after fetching them from far. */
  readonly cacheFills?: number | undefined;
  /** A composed store's parts (a cache's `near` and `far`), each with its own figures. */
  readonly tiers?: Readonly<Record<string, StoreStatistics>> | undefined;
}

/**
 * An optional capability of a BlobService: reporting {@link StoreStatistics}. Cheap and synchronous
 * by contract: it is called from a metrics scrape, never while a call waits. Callers test for it
 * with {@link canReportStatistics}; decorators that forward calls forward it too.
 */
export interface StatisticsReporter {
  statistics(): StoreStatistics;
}

/** Whether `service` implements {@link StatisticsReporter}. */
export function canReportStatistics<T extends BlobService>(service: T): service is T & StatisticsReporter {
  return typeof (service as Partial<StatisticsReporter>).statistics === "function";
}

/** The statistics of `service`, or `undefined` when it reports none. */
export function statisticsOf(service: BlobService): StoreStatistics | undefined {
  return canReportStatistics(service) ? service.statistics() : undefined;
}
