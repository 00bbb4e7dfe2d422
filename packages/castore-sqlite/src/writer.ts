import { type B3Digest, BackendError, BaseBlobWriter, digestWith, FastCdcChunker } from "castore-core";
import { sqliteCall } from "./sqlite-errors.js";
import type { Store } from "./store.js";

const EMPTY = new Uint8Array(0);
/** First allocation of the cut buffer; it doubles as needed, so small blobs stay small. */
const MIN_BUFFER = 64 << 10;

/**
 * Streams a blob into the store. The bytes are cut by content (FastCDC 2020, the store's sizes);
 * each chunk is stored, once per digest in the whole store, as soon as it is cut and known not to
 * be the blob's only chunk, so memory stays at a few chunks whatever the blob's length. A blob that
 * turns out to be one piece is stored inline in its `blobs` row at `close`, where its digest is the
 * only check it needs.
 *
 * Nothing is visible until `commit` inserts the `blobs` row and its chunk list in one transaction;
 * until then the chunks are pinned by an upload owned by this process, which abort, or any process
 * once the upload's lease lapsed, releases.
 */
export class SqliteBlobWriter extends BaseBlobWriter {
  readonly #store: Store;
  readonly #chunker: FastCdcChunker;
  /** Input bytes not yet in a chunk: `#buffer[0, #filled)`, starting at blob offset `#bufferStart`. */
  #buffer: Uint8Array = EMPTY;
  #filled = 0;
  #bufferStart = 0;
  /** The first chunk, held until something follows it (else the blob is one piece, stored inline). */
  #first: Uint8Array | undefined;
  #chunksCut = 0;
  /** The upload pinning this blob's chunks, once a first chunk is stored. */
  #upload: number | undefined;
  #storedChunks = 0;

  constructor(store: Store) {
    super();
    this.#store = store;
    this.#chunker = new FastCdcChunker(store.options.chunking);
  }

  protected writeChunk(chunk: Uint8Array): void {
    // Slices of at most one chunk's maximum: the buffer never holds more than two of them.
    const step = this.#chunker.maxSize;
    for (let offset = 0; offset < chunk.length; offset += step) {
      const slice = chunk.subarray(offset, offset + step);
      const cuts = this.#chunker.update(slice);
      this.#append(slice);
      this.#cut(cuts.map((cut) => cut.end));
      // Bytes after the first chunk: it is not the only one.
      if (this.#filled > 0) this.#storeFirst();
    }
  }

  protected async commit(digest: B3Digest, size: number): Promise<void> {
    this.#cut(this.#chunker.finish().map((cut) => cut.end));
    const { statements } = this.#store;
    const key = digest.unsafeBytes;
    if (this.#upload === undefined) {
      // One piece (or empty): one row, one statement, atomic by itself.
      const data = this.#first ?? EMPTY;
      sqliteCall("store a blob", () => this.#store.durably(() => statements.insertInline(key, size, data)));
      this.#release();
      return;
    }
    this.#release();
    const upload = this.#upload;
    // Committed, a duplicate or reclaimed: from here on the upload is not a live writer's.
    this.#store.endUpload(upload);
    const stored = sqliteCall("store a blob", () =>
      this.#store.durably(() =>
        this.#store.db
          .transaction(() => {
            if (!statements.uploadIsOpen(upload)) throw reclaimedError(upload);
            if (statements.insertChunked(key, size, upload)) {
              statements.finishUpload(upload);
              return true;
            }
            // Already stored: this copy's chunks are released (those the stored blob shares stay).
            statements.abandonUpload(upload);
            return false;
          })
          .immediate(),
      ),
    );
    this.#upload = undefined;
    // The blob is safely there either way; the duplicate's pins go now or, if SQLite is busy, later.
    if (!stored) await this.#store.abandonedUploads.abandon([upload]);
  }

  protected async discard(): Promise<void> {
    this.#release();
    const upload = this.#upload;
    this.#upload = undefined;
    if (upload !== undefined) this.#store.endUpload(upload);
    // Never fails: rows SQLite refuses to delete now are deleted later (see AbandonedUploads).
    if (upload !== undefined) await this.#store.abandonedUploads.abandon([upload]);
  }

  /** Hands the chunks ending at `ends` (blob offsets, in order) over and drops them from the buffer. */
  #cut(ends: readonly number[]): void {
    let consumed = 0;
    for (const end of ends) {
      const length = end - this.#bufferStart - consumed;
      const bytes = this.#buffer.subarray(consumed, consumed + length);
      consumed += length;
      if (this.#chunksCut++ === 0) {
        // A copy: the buffer is reused, and this chunk may wait until close.
        this.#first = bytes.slice();
      } else {
        this.#storeFirst();
        this.#storeChunk(bytes);
      }
    }
    if (consumed === 0) return;
    this.#buffer.copyWithin(0, consumed, this.#filled);
    this.#filled -= consumed;
    this.#bufferStart += consumed;
  }

  #storeFirst(): void {
    if (!this.#first) return;
    const first = this.#first;
    this.#first = undefined;
    this.#storeChunk(first);
  }

  /** Stores one chunk (once per digest in the store) and pins it to this writer's upload. */
  #storeChunk(bytes: Uint8Array): void {
    const digest = digestWith(this.#store.blake3, bytes);
    sqliteCall("store a chunk", () => {
      this.#upload ??= this.#store.startUpload();
      if (!this.#store.statements.storeChunk(this.#upload, this.#storedChunks, digest.unsafeBytes, bytes)) {
        throw reclaimedError(this.#upload);
      }
    });
    this.#storedChunks++;
  }

  /** Appends input to the buffer, growing it (up to two maximum chunks) as needed. */
  #append(bytes: Uint8Array): void {
    const needed = this.#filled + bytes.length;
    if (this.#buffer.length < needed) {
      const grown = new Uint8Array(
        Math.max(needed, MIN_BUFFER, Math.min(this.#buffer.length * 2, 2 * this.#chunker.maxSize)),
      );
      grown.set(this.#buffer.subarray(0, this.#filled));
      this.#buffer = grown;
    }
    this.#buffer.set(bytes, this.#filled);
    this.#filled += bytes.length;
  }

  #release(): void {
    this.#buffer = EMPTY;
    this.#filled = 0;
    this.#first = undefined;
  }
}

function reclaimedError(upload: number): BackendError {
  return new BackendError(
    `upload ${upload} was reclaimed by another process that took its owner for dead; nothing was stored`,
  );
}
