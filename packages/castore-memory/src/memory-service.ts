import {
  type B3Digest,
  type Blake3Implementation,
  type BlobReader,
  type BlobWriter,
  blake3,
  type ChunkMeta,
  InvalidArgumentError,
  isInvalidArgument,
  type StoreStatistics,
} from "castore-core";
import {
  BaseBlobService,
  BytesReader,
  ChunkedReader,
  chunkSizesFor,
  concatBytes,
  copyBytes,
  DEFAULT_AVG_CHUNK_SIZE,
  type FastCdcOptions,
  type SplitChunk,
} from "castore-core/backend";
import { MemoryBlobWriter } from "./memory-writer.js";

/** Set by MemoryBlobService's static block; the testing entry point's way in. */
let corruptHook: (service: MemoryBlobService, digest: B3Digest, offset: number | undefined) => boolean;

/**
 * FOR TESTS ONLY (exported from `castore-memory/testing`, not from the package root): flips one byte
 * of a stored blob or chunk in place (of the chunk holding `offset` for a chunked blob), so tests can
 * check that readers detect corruption. Default offset: the middle. Returns false when the blob is
 * absent or empty (nothing to flip).
 */
export function corruptForTesting(service: MemoryBlobService, digest: B3Digest, offset?: number): boolean {
  return corruptHook(service, digest, offset);
}

export interface MemoryBlobServiceOptions {
  /**
   * Average chunk size in bytes (FastCDC 2020, min / max = avg/2 and 2·avg). Default 262144, snix
   * castore's, so a blob is cut into the same chunks here as there.
   */
  avgChunkSize?: number | undefined;
}

/** Stored bytes of one piece: a one-piece blob or a chunk (which is a blob of its own). */
interface Piece {
  readonly segments: readonly Uint8Array[];
  readonly size: number;
}

/** A blob of two or more chunks: its length and its chunk list. */
interface ChunkedBlob {
  readonly size: number;
  readonly chunks: readonly ChunkMeta[];
}

/**
 * A BlobService that keeps blobs in Maps in this process: for tests, caches and short-lived tools.
 * Blobs are cut into content-defined chunks as they are written (FastCDC 2020, snix's sizes by
 * default); each chunk is stored once by its digest and shared by every blob that contains it, so
 * blobs that share a region share its memory. A blob of fewer than two chunks is kept as one piece.
 * Every chunk is itself a blob (has, openRead). Readers are fully seekable: one-piece blobs verify
 * on first read; chunked blobs read through core's ChunkedReader (every chunk verified before its
 * bytes are handed out; the chunk list is the writer's own, so a full read does not hash the whole
 * blob again). Readers return copies (a chunked blob's reader copies each chunk once, verifies the
 * copy and hands out views of it), so nothing a caller does to a returned array changes the store.
 * Everything is lost when the service is closed or the process exits.
 */
export class MemoryBlobService extends BaseBlobService {
  /** One-piece blobs and chunks, by digest text. */
  readonly #pieces = new Map<string, Piece>();
  /** Blobs of two or more chunks, by digest text. */
  readonly #chunked = new Map<string, ChunkedBlob>();
  /** One-piece blobs that were written as blobs (not only as chunks of another), for blobCount. */
  readonly #written = new Set<string>();
  readonly #sizes: FastCdcOptions;
  #blake3: Blake3Implementation | undefined;
  #storedBytes = 0;
  #chunksWritten = 0;
  #chunksDeduplicated = 0;

  constructor(options: MemoryBlobServiceOptions = {}) {
    super();
    const average = options.avgChunkSize ?? DEFAULT_AVG_CHUNK_SIZE;
    try {
      this.#sizes = chunkSizesFor(average);
    } catch (error) {
      if (!isInvalidArgument(error)) throw error;
      throw new InvalidArgumentError(`avgChunkSize: ${error.message}`, { cause: error });
    }
  }

  /** Number of distinct blobs written (a chunk stored only as part of other blobs is not counted). */
  get blobCount(): number {
    return this.#written.size + this.#chunked.size;
  }

  /** Bytes of blob data held: every one-piece blob and every distinct chunk, once. */
  get storedBytes(): number {
    return this.#storedBytes;
  }

  /** What the store holds and what uploads did since it opened (the StatisticsReporter capability). */
  statistics(): StoreStatistics {
    return {
      blobs: this.blobCount,
      storedBytes: this.#storedBytes,
      chunksWritten: this.#chunksWritten,
      chunksDeduplicated: this.#chunksDeduplicated,
    };
  }

  /** The FastCDC sizes this store cuts blobs with. */
  get chunkSizes(): Readonly<FastCdcOptions> {
    return this.#sizes;
  }

  protected async hasImpl(digest: B3Digest): Promise<boolean> {
    const key = digest.toString();
    return this.#pieces.has(key) || this.#chunked.has(key);
  }

  protected override async chunksImpl(digest: B3Digest): Promise<ChunkMeta[] | undefined> {
    const key = digest.toString();
    const chunked = this.#chunked.get(key);
    if (chunked) return [...chunked.chunks];
    return this.#pieces.has(key) ? [] : undefined;
  }

  protected async openReadImpl(digest: B3Digest): Promise<BlobReader | undefined> {
    const key = digest.toString();
    const chunked = this.#chunked.get(key);
    if (chunked) {
      return new ChunkedReader(digest, chunked.size, chunked.chunks, {
        // Each fetch gets its own contiguous copy of the chunk (the one copy a read makes), which the
        // reader verifies and then hands out as views: a caller writing into them writes into that copy.
        openChunk: async (chunk) => {
          const piece = this.#pieces.get(chunk.digest.toString());
          return piece && ownCopy(piece.segments);
        },
        handOutViews: true,
        // The list is the one this process's writer cut and hashed to the digest, held in memory
        // since: proven, so a full read checks each chunk and not the whole blob a second time.
        chunkListProven: true,
      });
    }
    const piece = this.#pieces.get(key);
    // One piece is at most one maximum chunk: verified as a whole on first read, handed out as copies.
    return piece && new BytesReader(digest, piece.segments);
  }

  protected async openWriteImpl(): Promise<BlobWriter> {
    this.#blake3 ??= await blake3();
    return new MemoryBlobWriter(this.#sizes, this.#blake3, (digest, size, chunks) => this.#store(digest, size, chunks));
  }

  protected override closeImpl(): void {
    this.#pieces.clear();
    this.#chunked.clear();
    this.#written.clear();
    this.#storedBytes = 0;
  }

  #store(digest: B3Digest, size: number, chunks: SplitChunk[]): void {
    const key = digest.toString();
    if (this.#chunked.has(key)) {
      this.#chunksDeduplicated += chunks.length;
      return;
    }
    if (chunks.length < 2) {
      // Fewer than two chunks: the blob is its only chunk (or empty), kept as one piece.
      this.#addPiece(key, chunks[0]?.segments ?? [], size);
      this.#written.add(key);
      return;
    }
    for (const chunk of chunks) this.#addPiece(chunk.digest.toString(), chunk.segments, chunk.size);
    this.#chunked.set(key, { size, chunks: chunks.map(({ digest, size }) => ({ digest, size })) });
  }

  #addPiece(key: string, segments: readonly Uint8Array[], size: number): void {
    if (this.#pieces.has(key)) {
      this.#chunksDeduplicated++;
      return;
    }
    this.#pieces.set(key, { segments, size });
    this.#storedBytes += size;
    this.#chunksWritten++;
  }

  static {
    // The test hook reaches the stored bytes through this function, not through a public method.
    corruptHook = (service, digest, offset) => service.#corrupt(digest, offset);
  }

  /** Flips one byte in place; reached only through `castore-memory/testing` (see corruptForTesting). */
  #corrupt(digest: B3Digest, offset: number | undefined): boolean {
    const key = digest.toString();
    const chunked = this.#chunked.get(key);
    const size = chunked?.size ?? this.#pieces.get(key)?.size ?? 0;
    let at = offset ?? Math.floor(size / 2);
    if (at < 0 || at >= size) return false;
    let piece = this.#pieces.get(key);
    if (chunked) {
      for (const chunk of chunked.chunks) {
        if (at < chunk.size) {
          piece = this.#pieces.get(chunk.digest.toString());
          break;
        }
        at -= chunk.size;
      }
    }
    for (const segment of piece?.segments ?? []) {
      if (at < segment.length) {
        segment[at] = (segment[at] as number) ^ 0xff;
        return true;
      }
      at -= segment.length;
    }
    return false;
  }
}

/** The segments joined into one array nothing else holds (a copy even when there is one segment). */
function ownCopy(segments: readonly Uint8Array[]): Uint8Array {
  return segments.length === 1 ? copyBytes(segments[0] as Uint8Array) : concatBytes(segments);
}
