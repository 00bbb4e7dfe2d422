import type { B3Digest } from "./digest.js";
import type { SignalOptions } from "./signal.js";
import type { BlobService } from "./types.js";

/**
 * An optional capability of a BlobService: enumerating the digests it stores (a scrub, a backup, a
 * migration walks them). Not every store can: a gRPC peer speaks a protocol without a listing.
 * Callers test for it with {@link canListBlobs}.
 *
 * Contract: every blob stored before the walk starts and still stored when it ends is yielded
 * exactly once; blobs stored meanwhile may or may not be. The walk holds no lock between items, so
 * writers (in this process or others) are never held up by it.
 */
export interface BlobLister {
  listBlobs(options?: SignalOptions): AsyncIterable<B3Digest>;
}

/** Whether `service` implements {@link BlobLister}. */
export function canListBlobs<T extends BlobService>(service: T): service is T & BlobLister {
  return typeof (service as Partial<BlobLister>).listBlobs === "function";
}
