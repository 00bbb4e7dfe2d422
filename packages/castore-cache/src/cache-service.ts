import {
  type B3Digest,
  type BlobReader,
  type BlobService,
  type BlobWriter,
  type ChunkMeta,
  digestOf,
  IntegrityError,
  InvalidArgumentError,
  isTooLarge,
  readAll,
  type StoreStatistics,
  statisticsOf,
} from "castore-core";
import { BaseBlobService, BytesReader } from "castore-core/backend";
import { ChunkListMemo } from "./chunk-lists.js";
import { fromFar } from "./far.js";
import { ReadThroughReader } from "./read-through-reader.js";
import { ThroughWriter } from "./through-writer.js";

/** Where a cache's writes go: near only, or near and far (`close` returns once far has the blob). */
export type CacheWriteMode = "near" | "through";

export interface CacheBlobServiceOptions {
  /** The fast, local tier: reads are served from it when it has the bytes, and filled from far. */
  near: BlobService;
  /** The slow, shared tier: the source of what near lacks. */
  far: BlobService;
  /** `near` (default) or `through`. */
  write?: CacheWriteMode | undefined;
  /**
   * Close near and far when the cache closes (default true). A store configuration sets it false:
   * it owns the tiers, which other stores of the configuration may share.
   */
  closeTiers?: boolean | undefined;
  /** How many chunk lists of blobs filled from far the cache remembers (default 4096). */
  chunkListMemo?: number | undefined;
}

/** What the cache did since it opened, for tests and metrics. */
export interface CacheStats {
  /** Reads near served whole (near had the blob; far was not asked). */
  nearBlobs: number;
  /** Chunks (and one-piece blobs) served from near inside a read-through. */
  nearChunks: number;
  /** Chunks (and one-piece blobs) fetched from far, verified and handed out. */
  farChunks: number;
  /** Bytes fetched from far. */
  farBytes: number;
  /** One-piece blobs too large to fill, streamed from far unverified by the cache (the reader verifies). */
  farStreams: number;
  /** Chunks and one-piece blobs fetched from far and stored into near. */
  fills: number;
  /** Far fetches near refused to store (the read still succeeded). */
  fillFailures: number;
  /** Blobs stored whole into near after a complete read-through. */
  wholeBlobs: number;
}

/**
 * A one-piece blob larger than this is served from far as it streams, without filling near: holding
 * it whole in memory to verify it before storing is not worth it. Every castore backend keeps
 * larger blobs as chunk lists, which fill chunk by chunk.
 */
const MAX_ONE_PIECE_FILL = 64 * 1024 * 1024;

/**
 * A cache of two stores (snix's near/far composition), filled at chunk granularity as it reads.
 *
 * - `has`: near, else far.
 * - `chunks`: near's list, else the list remembered from an earlier read-through, else far's.
 * - `openRead`: near's own reader when near has the blob. Otherwise the blob is read through far's
 *   chunk list: each chunk comes from near when near has it, else from far, is verified against its
 *   digest, stored into near and handed out, so a random read of a huge far blob fills near with
 *   exactly the chunks it touched. A one-piece blob is one chunk.
 * - `openWrite`: near (`write: "near"`), or near and far (`"through"`).
 *
 * Far failures: while near can serve, far is never asked, so its being down is invisible. A read
 * that needs far fails with far's error if it says something about the data (`Integrity`,
 * `NotFound`, `Aborted`…) and with `Unavailable` otherwise; nothing unverified ever reaches near.
 */
export class CacheBlobService extends BaseBlobService {
  readonly #near: BlobService;
  readonly #far: BlobService;
  readonly #write: CacheWriteMode;
  readonly #closeTiers: boolean;
  readonly #lists: ChunkListMemo;
  /** Whole blobs being stored into near in the background (see #storeWhole); closing waits for them. */
  readonly #storing = new Set<Promise<void>>();
  readonly #closing = new AbortController();
  readonly #stats: CacheStats = {
    nearBlobs: 0,
    nearChunks: 0,
    farChunks: 0,
    farBytes: 0,
    farStreams: 0,
    fills: 0,
    fillFailures: 0,
    wholeBlobs: 0,
  };

  constructor(options: CacheBlobServiceOptions) {
    super();
    if (options.write !== undefined && options.write !== "near" && options.write !== "through") {
      throw new InvalidArgumentError(`write must be "near" or "through", got ${JSON.stringify(options.write)}`);
    }
    const memo = options.chunkListMemo ?? 4096;
    if (!Number.isSafeInteger(memo) || memo < 0) {
      throw new InvalidArgumentError(`chunkListMemo must be a non-negative integer, got ${memo}`);
    }
    this.#near = options.near;
    this.#far = options.far;
    this.#write = options.write ?? "near";
    this.#closeTiers = options.closeTiers ?? true;
    this.#lists = new ChunkListMemo(memo);
  }

  /** Where writes go. */
  get write(): CacheWriteMode {
    return this.#write;
  }

  /** Counters of what reads did (a copy). */
  get stats(): CacheStats {
    return { ...this.#stats };
  }

  /**
   * The StatisticsReporter capability: hits (reads and chunks near served), misses (fetches from
   * far), fills (what reads stored into near: chunks, one-piece blobs and whole blobs after a
   * complete read-through), and near's and far's own statistics where they report any.
   */
  statistics(): StoreStatistics {
    const stats = this.#stats;
    const tiers: Record<string, StoreStatistics> = {};
    const near = statisticsOf(this.#near);
    const far = statisticsOf(this.#far);
    if (near) tiers.near = near;
    if (far) tiers.far = far;
    return {
      cacheHits: stats.nearBlobs + stats.nearChunks,
      cacheMisses: stats.farChunks + stats.farStreams,
      cacheFills: stats.fills + stats.wholeBlobs,
      tiers,
    };
  }

  protected async hasImpl(digest: B3Digest, signal: AbortSignal | undefined): Promise<boolean> {
    if (await this.#near.has(digest, { signal })) return true;
    return fromFar("has", () => this.#far.has(digest, { signal }));
  }

  protected override async chunksImpl(
    digest: B3Digest,
    signal: AbortSignal | undefined,
  ): Promise<ChunkMeta[] | undefined> {
    const near = await this.#near.chunks(digest, { signal });
    if (near !== undefined) return near;
    const remembered = this.#lists.get(digest.toString());
    if (remembered !== undefined) return [...remembered];
    const far = await fromFar("chunks", () => this.#far.chunks(digest, { signal }));
    if (far !== undefined && far.length > 0) this.#lists.set(digest.toString(), far);
    return far;
  }

  protected async openReadImpl(digest: B3Digest, signal: AbortSignal | undefined): Promise<BlobReader | undefined> {
    const near = await this.#near.openRead(digest, { signal });
    if (near) {
      this.#stats.nearBlobs++;
      return near;
    }
    const chunks = await this.chunksImpl(digest, signal);
    if (chunks === undefined) return undefined;
    if (chunks.length === 0) return this.#readOnePiece(digest, signal);
    const size = chunks.reduce((total, chunk) => total + chunk.size, 0);
    return new ReadThroughReader(digest, size, chunks, {
      openChunk: (chunk, chunkSignal) => this.#readChunk(chunk, chunkSignal),
      // Copies: a store's reader may hand out arrays it keeps (readAll passes a single one through).
      handOutViews: false,
      onComplete: () => this.#storeWhole(digest, chunks),
    });
  }

  protected async openWriteImpl(signal: AbortSignal | undefined): Promise<BlobWriter> {
    if (this.#write === "near") return this.#near.openWrite({ signal });
    const near = await this.#near.openWrite({ signal });
    try {
      const far = await fromFar("open a writer", () => this.#far.openWrite({ signal }));
      return new ThroughWriter(near, far);
    } catch (error) {
      await near.abort(error).catch(() => {});
      throw error;
    }
  }

  /** Settles once every whole blob being stored into near is stored (or given up). For tests. */
  async settled(): Promise<void> {
    while (this.#storing.size > 0) await Promise.allSettled([...this.#storing]);
  }

  protected override async closeImpl(): Promise<void> {
    this.#closing.abort();
    await this.settled();
    this.#lists.clear();
    if (!this.#closeTiers) return;
    const results = await Promise.allSettled([this.#near.close(), this.#far.close()]);
    const failed = results.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
  }

  /**
   * After a complete read-through (every chunk now near, the blob verified), stores the whole blob
   * into near from near's copies of its chunks, in the background: later reads then take near's own
   * reader, at near's speed, and need neither far nor the remembered chunk list (across restarts
   * too). A chunk that near lost meanwhile (or never stored) abandons it; nothing is stored then.
   */
  #storeWhole(digest: B3Digest, chunks: readonly ChunkMeta[]): void {
    const signal = this.#closing.signal;
    const task = (async () => {
      if (signal.aborted || (await this.#near.has(digest, { signal }))) return;
      const writer = await this.#near.openWrite({ signal });
      try {
        for (const chunk of chunks) {
          const reader = await this.#near.openRead(chunk.digest, { signal });
          if (!reader) return;
          await writer.write(await readChunkBytes(reader, chunk.size, signal), { signal });
        }
        if (!(await writer.close({ signal })).equals(digest)) return;
        this.#stats.wholeBlobs++;
        this.#lists.delete(digest.toString());
      } finally {
        await writer.abort().catch(() => {});
      }
    })()
      .catch(() => {
        this.#stats.fillFailures++;
      })
      .finally(() => this.#storing.delete(task));
    this.#storing.add(task);
  }

  /** One chunk of a read-through: near's copy, else far's, verified and stored into near. */
  async #readChunk(chunk: ChunkMeta, signal: AbortSignal): Promise<Uint8Array | undefined> {
    const near = await this.#near.openRead(chunk.digest, { signal });
    if (near) {
      this.#stats.nearChunks++;
      return readChunkBytes(near, chunk.size, signal);
    }
    const bytes = await fromFar(`read chunk ${chunk.digest}`, async () => {
      const far = await this.#far.openRead(chunk.digest, { signal });
      return far && readChunkBytes(far, chunk.size, signal);
    });
    if (bytes === undefined) return undefined;
    await this.#fill(chunk.digest, bytes, signal);
    return bytes;
  }

  /** A blob far keeps as one piece: fetched whole, verified, stored into near. */
  async #readOnePiece(digest: B3Digest, signal: AbortSignal | undefined): Promise<BlobReader | undefined> {
    const far = await fromFar("open a blob", () => this.#far.openRead(digest, { signal }));
    if (!far) return undefined;
    if (far.size !== undefined && far.size > MAX_ONE_PIECE_FILL) {
      this.#stats.farStreams++;
      return far;
    }
    // A pure stream (a server that sends no chunk list) has no size until it ends.
    const bytes = await fromFar(`read blob ${digest}`, () => readAtMost(far, MAX_ONE_PIECE_FILL, signal));
    // Longer than is worth holding: stream it again from far, unfilled.
    if (bytes === undefined) {
      this.#stats.farStreams++;
      return fromFar("open a blob", () => this.#far.openRead(digest, { signal }));
    }
    await this.#fill(digest, bytes, signal);
    // #fill has just verified these exact bytes.
    return new BytesReader(digest, bytes, { verify: false });
  }

  /**
   * Verifies bytes fetched from far against their digest and stores them into near. Bytes that do
   * not match fail the read (`Integrity`) and never reach near. A near that cannot store them (full,
   * read-only) does not fail the read: it is counted in `fillFailures`.
   */
  async #fill(digest: B3Digest, bytes: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    if (!digest.equals(await digestOf(bytes))) {
      throw new IntegrityError(`the far store returned ${bytes.length} bytes that do not hash to ${digest}`);
    }
    this.#stats.farChunks++;
    this.#stats.farBytes += bytes.length;
    let writer: BlobWriter | undefined;
    try {
      writer = await this.#near.openWrite({ signal });
      await writer.write(bytes, { signal });
      await writer.close({ signal });
      this.#stats.fills++;
    } catch (error) {
      await writer?.abort(error).catch(() => {});
      if (signal?.aborted) throw error;
      this.#stats.fillFailures++;
    }
  }
}

/** A chunk's bytes from a reader (closed afterwards); more than the chunk's size is an `Integrity` error. */
async function readChunkBytes(reader: BlobReader, size: number, signal: AbortSignal | undefined): Promise<Uint8Array> {
  const bytes = await readAtMost(reader, size, signal);
  if (bytes === undefined)
    throw new IntegrityError(`chunk ${reader.digest} is corrupt: the store holds more than its ${size} bytes`);
  return bytes;
}

/** A reader's bytes, or `undefined` when it holds more than `limit`; the reader is closed afterwards. */
async function readAtMost(
  reader: BlobReader,
  limit: number,
  signal: AbortSignal | undefined,
): Promise<Uint8Array | undefined> {
  try {
    return await readAll(reader, { signal, maxBytes: limit });
  } catch (error) {
    if (isTooLarge(error)) return undefined;
    throw error;
  } finally {
    await reader.close().catch(() => {});
  }
}
