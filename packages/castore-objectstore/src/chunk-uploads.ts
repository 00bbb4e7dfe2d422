import type { B3Digest } from "castore-core";
import { abortedError, throwIfAborted } from "castore-core/backend";
import type { EvictionGuard } from "./eviction-guard.js";
import { chunkKey } from "./layout.js";
import type { ObjectStore } from "./object-store.js";
import type { TransferStats } from "./stats.js";
import { compressChunk, rawFrameSize } from "./zstd.js";

/**
 * A writer's chunk uploads: each chunk not yet in the store is compressed and put, at most
 * `concurrency` at a time. `add` compresses (or frames) the chunk at once, so the chunk's bytes may
 * be views of the caller's buffer (core's splitter `borrow`: one copy fewer), then waits for a free
 * slot, so a fast producer holds at most `concurrency + 1` chunk objects in memory. Raw frames are
 * written into buffers reused from earlier chunks of the writer: allocating and collecting one
 * buffer per chunk cost more CPU than the copy itself. The first failure cancels the others and is
 * reported by every later `add` and by `drain`.
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
  /** Frame buffers free for the next chunk (at most `concurrency + 1` kept), each `#frameSize` bytes. */
  readonly #frames: Uint8Array[] = [];
  readonly #frameSize: number;
  /** In a bounded store: the guard, and the writer's list of what it holds (each chunk once). */
  readonly #eviction: { readonly guard: EvictionGuard; readonly held: string[] } | undefined;

  constructor(
    store: ObjectStore,
    prefix: string,
    concurrency: number,
    stats: TransferStats,
    maxChunkSize: number,
    eviction?: { readonly guard: EvictionGuard; readonly held: string[] },
  ) {
    this.#frameSize = rawFrameSize(maxChunkSize);
    this.#store = store;
    this.#prefix = prefix;
    this.#concurrency = concurrency;
    this.#stats = stats;
    this.#eviction = eviction;
  }

  /**
   * Schedules a chunk for upload under `digest`. Its bytes are only read before the first await
   * (they are compressed into an object of this writer's own), so they may be a borrowed view.
   */
  async add(digest: B3Digest, segments: readonly Uint8Array[], signal: AbortSignal | undefined): Promise<void> {
    this.#throwIfFailed();
    const key = chunkKey(this.#prefix, digest);
    if (this.#scheduled.has(key)) return;
    this.#scheduled.add(key);
    // Framed even if a HEAD then finds the chunk stored: a copy into a reused buffer, cheap beside
    // the request, and the price of not holding the caller's bytes.
    const frame = this.#frames.pop() ?? new Uint8Array(this.#frameSize);
    const object = compressChunk(segments, frame);
    const reusable = object.buffer === frame.buffer ? frame : undefined;
    if (!reusable) this.#recycle(frame);
    while (this.#inFlight.size >= this.#concurrency) {
      await Promise.race(this.#inFlight);
      throwIfAborted(signal);
      this.#throwIfFailed();
    }
    let deletion: Promise<void> | undefined;
    if (this.#eviction) {
      // A bounded store over its bound makes room first; then the chunk is held before it is
      // looked for, so it cannot be deleted between a HEAD that finds it and the blob's commit.
      const room = this.#eviction.guard.roomForWrite();
      if (room) await room;
      this.#eviction.held.push(digest.toHex());
      deletion = this.#eviction.guard.holdForWriter(digest.toHex());
    }
    const task: Promise<void> = this.#upload(key, object, deletion, digest)
      .then((recycle) => {
        if (recycle && reusable) this.#recycle(reusable);
      })
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

  /**
   * Stores the chunk object unless the store has it. Resolves with whether the object's buffer may
   * be reused: after a put that succeeded (the store has taken every byte) or none was made. Not
   * after a refused put (the service may answer before reading the whole body) nor a failure.
   */
  async #upload(
    key: string,
    object: Uint8Array,
    deletion: Promise<void> | undefined,
    digest: B3Digest,
  ): Promise<boolean> {
    const signal = this.#cancel.signal;
    // A deletion of this very chunk under way: once it is over, the chunk is stored anew.
    if (deletion) await deletion;
    if (this.#probing) {
      if (await this.#store.head(key, signal)) {
        this.#misses = 0;
        this.#stats.chunksSkipped++;
        return true;
      }
      if (++this.#misses >= PROBE_MISSES) this.#probing = false;
    }
    throwIfAborted(signal);
    if (await this.#store.putIfAbsent(key, object, signal)) {
      this.#stats.chunksPut++;
      this.#stats.chunkBytesPut += object.length;
      this.#eviction?.guard.chunkStored(digest.toHex(), object.length);
      return true;
    }
    this.#stats.chunksSkipped++;
    this.#stats.chunkBytesWasted += object.length;
    this.#probing = true;
    this.#misses = 0;
    return false;
  }

  #recycle(frame: Uint8Array): void {
    if (this.#frames.length <= this.#concurrency) this.#frames.push(frame);
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }
}
