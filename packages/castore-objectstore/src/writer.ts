import { type B3Digest, BackendError, blake3, type ChunkMeta } from "castore-core";
import {
  BaseBlobWriter,
  ChunkSplitter,
  chunkSizesFor,
  type FastCdcOptions,
  type SplitChunk,
} from "castore-core/backend";
import { ChunkUploads } from "./chunk-uploads.js";
import type { EvictionGuard } from "./eviction-guard.js";
import { blobKey } from "./layout.js";
import type { ObjectStore } from "./object-store.js";
import { encodeChunkList } from "./stat-blob.js";
import type { TransferStats } from "./stats.js";

/**
 * Writes a blob as snix does: FastCDC cuts the stream (min/avg/max = avg/2, avg, 2·avg), each
 * chunk is hashed and, unless the store has it, compressed and uploaded while more bytes arrive;
 * `close` waits for every chunk and only then writes the blob object. So a visible blob always has
 * all its chunks, and an aborted or failed writer leaves at most chunks no blob refers to
 * (harmless: the next writer of those bytes skips them; nothing deletes them).
 */
export class ObjectStoreBlobWriter extends BaseBlobWriter {
  readonly #store: ObjectStore;
  readonly #prefix: string;
  readonly #stats: TransferStats;
  readonly #sizes: FastCdcOptions;
  readonly #uploads: ChunkUploads;
  readonly #chunks: ChunkMeta[] = [];
  readonly #guard: EvictionGuard | undefined;
  /** What this writer holds against eviction (its chunks, then its blob), released when it is done. */
  readonly #held: string[] = [];
  #splitter: ChunkSplitter | undefined;

  constructor(
    store: ObjectStore,
    prefix: string,
    avgChunkSize: number,
    uploadConcurrency: number,
    stats: TransferStats,
    guard?: EvictionGuard,
  ) {
    super();
    this.#store = store;
    this.#prefix = prefix;
    this.#stats = stats;
    this.#guard = guard;
    this.#sizes = chunkSizesFor(avgChunkSize);
    this.#uploads = new ChunkUploads(
      store,
      prefix,
      uploadConcurrency,
      stats,
      this.#sizes.maxSize,
      guard && { guard, held: this.#held },
    );
  }

  protected async writeChunk(bytes: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    // Borrowing: each chunk is framed into a buffer of the uploads' own before this call returns.
    this.#splitter ??= new ChunkSplitter(this.#sizes, await blake3(), { borrow: true });
    for (const chunk of this.#splitter.push(bytes)) await this.#emit(chunk, signal);
  }

  protected async commit(digest: B3Digest, size: number, signal: AbortSignal | undefined): Promise<void> {
    for (const chunk of this.#splitter?.finish() ?? []) await this.#emit(chunk, signal);
    await this.#uploads.drain(signal);
    // Fewer than two chunks is a one-piece blob: its only chunk is the blob, under its digest.
    const only = this.#chunks[0];
    if (this.#chunks.length === 1 && (only === undefined || !only.digest.equals(digest) || only.size !== size)) {
      throw new BackendError("internal error: a one-chunk blob whose chunk is not the blob");
    }
    const list = this.#chunks.length < 2 ? [] : this.#chunks;
    const guard = this.#guard;
    if (guard) {
      // Held from before the put until the index knows the blob: it cannot be evicted in between.
      this.#held.push(digest.toHex());
      await guard.holdForWriter(digest.toHex());
    }
    const object = encodeChunkList(list);
    const created = await this.#store.putIfAbsent(blobKey(this.#prefix, digest), object, signal);
    if (created) this.#stats.blobsPut++;
    if (guard) {
      const chunks = list.map((chunk) => chunk.digest.toHex());
      guard.blobCommitted(digest.toHex(), chunks, object.length, created);
      this.#release();
    }
  }

  protected async discard(): Promise<void> {
    this.#splitter = undefined;
    await this.#uploads.cancel(new BackendError("writer discarded"));
    this.#release();
  }

  #release(): void {
    this.#guard?.releaseWriter(this.#held.splice(0));
  }

  async #emit(chunk: SplitChunk, signal: AbortSignal | undefined): Promise<void> {
    this.#chunks.push({ digest: chunk.digest, size: chunk.size });
    await this.#uploads.add(chunk.digest, chunk.segments, signal);
  }
}
