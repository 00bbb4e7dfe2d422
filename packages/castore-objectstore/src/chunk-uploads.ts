import type { B3Digest } from "castore-core";
import { abortedError, throwIfAborted } from "castore-core/backend";
import { chunkKey } from "./layout.js";
import type { ObjectStore } from "./object-store.js";
import type { TransferStats } from "./stats.js";
import { compressChunk } from "./zstd.js";

/**
 * A writer's chunk uploads: each chunk not yet in the store is compressed and put, at most
 * `concurrency` at a time. `add` waits for a free slot, so a fast producer holds at most
 * `concurrency` chunks in memory. The first failure cancels the others and is reported by every
 * later `add` and by `drain`.
 *
 * Deduplication without paying for it on new data: while chunks turn out to be stored already, each
 * one is checked with HEAD first and never sent (storing the same bytes twice transfers no chunk
 * data). After {@link PROBE_MISSES} new chunks in a row the writer stops asking and puts directly —
 * the put is conditional (`If-None-Match: *`), so nothing is ever overwritten — and it goes back to
 * HEAD at the first put the store refuses because the chunk exists. New data thus costs one request
 * per chunk, as a plain upload does, and a run of known chunks costs at most one chunk sent in vain.
 */
export const PROBE_MISSES = 4;

export class ChunkUploads {
  readonly #store: ObjectStore;
  readonly #prefix: string;
  readonly #concurrency: number;
  readonly #stats: TransferStats;
  readonly #inFlight = new Set<Promise<void>>();
  /** Chunks of this blob already scheduled: a blob that repeats a chunk uploads it once. */
  readonly #scheduled = new Set<string>();
  readonly #cancel = new AbortController();
  #failure: { error: unknown } | undefined;
  /** Whether chunks are checked with HEAD before being sent. */
  #probing = true;
  /** New chunks found in a row while probing. */
  #misses = 0;

  constructor(store: ObjectStore, prefix: string, concurrency: number, stats: TransferStats) {
    this.#store = store;
    this.#prefix = prefix;
    this.#concurrency = concurrency;
    this.#stats = stats;
  }

  /** Schedules a chunk's bytes (owned by this object from now on) for upload under `digest`. */
  async add(digest: B3Digest, segments: readonly Uint8Array[], signal: AbortSignal | undefined): Promise<void> {
    this.#throwIfFailed();
    const key = chunkKey(this.#prefix, digest);
    if (this.#scheduled.has(key)) return;
    this.#scheduled.add(key);
    while (this.#inFlight.size >= this.#concurrency) {
      await Promise.race(this.#inFlight);
      throwIfAborted(signal);
      this.#throwIfFailed();
    }
    const task: Promise<void> = this.#upload(key, segments)
      .catch((error: unknown) => {
        this.#failure ??= { error };
        this.#cancel.abort(error);
      })
      .finally(() => this.#inFlight.delete(task));
    this.#inFlight.add(task);
  }

  /** Waits for every upload; throws the first failure. */
  async drain(signal: AbortSignal | undefined): Promise<void> {
    while (this.#inFlight.size > 0) {
      await Promise.race(this.#inFlight);
      if (signal?.aborted) throw abortedError(signal);
    }
    this.#throwIfFailed();
  }

  /** Stops every upload and waits until none is running. Chunks already stored stay (unreferenced). */
  async cancel(reason: unknown): Promise<void> {
    this.#cancel.abort(reason);
    await Promise.allSettled([...this.#inFlight]);
  }

  async #upload(key: string, segments: readonly Uint8Array[]): Promise<void> {
    const signal = this.#cancel.signal;
    if (this.#probing) {
      if (await this.#store.head(key, signal)) {
        this.#misses = 0;
        this.#stats.chunksSkipped++;
        return;
      }
      if (++this.#misses >= PROBE_MISSES) this.#probing = false;
    }
    throwIfAborted(signal);
    const compressed = compressChunk(segments);
    throwIfAborted(signal);
    if (await this.#store.putIfAbsent(key, compressed, signal)) {
      this.#stats.chunksPut++;
      this.#stats.chunkBytesPut += compressed.length;
    } else {
      this.#stats.chunksSkipped++;
      this.#stats.chunkBytesWasted += compressed.length;
      this.#probing = true;
      this.#misses = 0;
    }
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }
}
