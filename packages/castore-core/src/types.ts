// Disposal (AsyncDisposable, Symbol.asyncDispose) is in the public types: a consumer whose `lib`
// predates it (ES2022, say) gets it from here rather than failing on our declarations.
/// <reference lib="esnext.disposable" preserve="true" />
import type { ChunkMeta } from "./chunking/chunk-list.js";
import type { B3Digest } from "./digest.js";
import type { SignalOptions } from "./signal.js";

/** Bytes in any of the shapes castore accepts as input. */
export type BytesInput = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** Where a seek offset counts from. */
export type SeekOrigin = "start" | "current" | "end";

export interface ReadOptions extends SignalOptions {
  /** Return at most this many bytes (a positive integer). Default: whatever chunk is at hand. */
  maxBytes?: number | undefined;
  /**
   * A buffer the caller lends to this read (at least one byte long). A reader that can place the
   * bytes there does, from its start, and returns a view of it; one that cannot returns memory of
   * its own. Either way the result holds the bytes, so use the result, not `into`; the caller may
   * reuse `into` once the read has settled. Readers built on `BaseBlobReader` return at most
   * `into.length` bytes, as with `maxBytes`.
   *
   * Why: a reader that hands out fresh memory for every chunk makes a bulk read pay for that memory
   * (page faults, collections) on every byte, and that can cost more than reading and hashing the
   * bytes. Reading into a few buffers used in turn lets a store recycle its own chunk memory too.
   */
  into?: Uint8Array | undefined;
}

/**
 * A blob opened for reading: its bytes in order, in chunks of any size, with a position that can be
 * moved. Iterating yields from the current position to the end. A reader never yields bytes that do
 * not belong to its digest: a full read verifies the digest and throws an `Integrity` error instead
 * of reporting a clean end.
 */
export interface BlobReader extends AsyncIterable<Uint8Array>, AsyncDisposable {
  /** The digest this reader serves. */
  readonly digest: B3Digest;
  /** Byte offset of the next read. */
  readonly position: number;
  /** Blob length in bytes when known (always for local stores; not for a pure stream). */
  readonly size: number | undefined;
  /** Whether `seek` can move backwards and count from the end. */
  readonly seekable: boolean;
  /**
   * The most memory, in bytes, the reader holds of its own while reading in order: chunks fetched
   * ahead, the buffers they are read into and its chunk list, not what its reads return (an
   * estimate where the runtime decides, as for the list's objects). Undefined for a reader that
   * holds nothing beyond the read in progress. A server charges it to its memory budget
   * before it serves the reader, so that many clients that stop reading cannot hold more than that
   * budget between them.
   */
  readonly maxHeldBytes?: number | undefined;
  /** The next chunk, or `undefined` at the end of the blob. */
  read(options?: ReadOptions): Promise<Uint8Array | undefined>;
  /**
   * Moves the position and returns the new one. Seeking past the end is allowed and reads nothing.
   * A forward-only reader fails with an `Unsupported` error on a backward seek or a seek from end.
   */
  seek(offset: number, origin?: SeekOrigin, options?: SignalOptions): Promise<number>;
  /** Releases the reader. Later reads fail with a `Closed` error. Idempotent. */
  close(): Promise<void>;
}

/**
 * A blob being written. Bytes are hashed as they arrive; `close` stores the blob (unless it is
 * already there) and returns its digest. Semantics carried over from the Rust original:
 * a second `close` returns the same digest; `write` after `close` fails with a `Closed` error;
 * after a failed `close`, `close` fails again; an aborted or disposed-unclosed writer stores nothing.
 */
export interface BlobWriter extends AsyncDisposable {
  /** Bytes accepted so far. */
  readonly bytesWritten: number;
  /**
   * Appends bytes. The caller may reuse its buffers once the promise resolves, and an iterable may
   * reuse the buffer behind each piece once the writer asks it for the next one.
   */
  write(data: BytesInput, options?: SignalOptions): Promise<void>;
  /** Finishes the blob and returns its digest. */
  close(options?: SignalOptions): Promise<B3Digest>;
  /** Discards everything written; nothing is stored. Idempotent; a no-op after a successful close. */
  abort(reason?: unknown): Promise<void>;
}

/** A content-addressed blob store. */
export interface BlobService extends AsyncDisposable {
  /** Whether the blob is stored. Absent is `false`, not an error. */
  has(digest: B3Digest, options?: SignalOptions): Promise<boolean>;
  /** A reader for the blob, or `undefined` when it is absent. */
  openRead(digest: B3Digest, options?: SignalOptions): Promise<BlobReader | undefined>;
  /**
   * The blob's chunk list: `undefined` when the blob is absent, `[]` when it is stored as one piece,
   * otherwise its chunks in order (at least two), each readable as a blob by its digest. The list is
   * the store's claim; readers prove it (see `ChunkedReader`).
   */
  chunks(digest: B3Digest, options?: SignalOptions): Promise<ChunkMeta[] | undefined>;
  /** A writer for a new blob. */
  openWrite(options?: SignalOptions): Promise<BlobWriter>;
  /** Releases the service's resources. Later calls fail with a `Closed` error. Idempotent. */
  close(): Promise<void>;
}
