import { type B3Digest, BackendError, BaseBlobWriter, type Blake3Hasher, digestWith } from "castore-core";
import { sqliteCall } from "./sqlite-errors.js";
import type { Store } from "./store.js";

const EMPTY = new Uint8Array(0);
/** First allocation of the chunk buffer; it doubles up to the chunk size, so small blobs stay small. */
const MIN_BUFFER = 64 << 10;

/**
 * Streams a blob into the store. Bytes are cut into chunks of the store's chunk size; each full
 * chunk is stored as its own row (with its digests) as soon as it is known not to be the blob's
 * only chunk, so memory stays at one chunk whatever the blob's length. A blob that turns out to
 * fit one chunk is stored inline in its `blobs` row at `close`, where its digest is the only check
 * it needs.
 *
 * Nothing is visible until `commit` inserts the `blobs` row in one transaction; until then the
 * chunk rows belong to an upload owned by this process, which abort, or an open after a crash,
 * deletes.
 */
export class SqliteBlobWriter extends BaseBlobWriter {
  readonly #store: Store;
  readonly #chunkSize: number;
  /** Bytes of the chunk being filled (the first `#filled` of them). */
  #buffer: Uint8Array = EMPTY;
  #filled = 0;
  /** The upload holding this blob's chunk rows, once a first chunk is stored. */
  #upload: number | undefined;
  #storedChunks = 0;
  /** Hash of the chunks stored so far, whose running digest each chunk row records. */
  #running: Blake3Hasher | undefined;

  constructor(store: Store) {
    super();
    this.#store = store;
    this.#chunkSize = store.options.chunkSize;
  }

  protected writeChunk(chunk: Uint8Array): void {
    const chunkSize = this.#chunkSize;
    let offset = 0;
    while (offset < chunk.length) {
      // A full buffer followed by more bytes is not the last chunk: store it now.
      if (this.#filled === chunkSize) {
        this.#storeChunk(this.#buffer);
        this.#filled = 0;
      }
      const remaining = chunk.length - offset;
      // A whole chunk in the caller's buffer, stored without a copy when it cannot be the blob's
      // only chunk: more bytes follow it, or chunks were stored before it.
      if (this.#filled === 0 && (remaining > chunkSize || (remaining === chunkSize && this.#upload !== undefined))) {
        this.#storeChunk(chunk.subarray(offset, offset + chunkSize));
        offset += chunkSize;
        continue;
      }
      const take = Math.min(chunkSize - this.#filled, remaining);
      this.#reserve(this.#filled + take);
      // A copy: the caller may reuse its buffer once write() resolves.
      this.#buffer.set(chunk.subarray(offset, offset + take), this.#filled);
      this.#filled += take;
      offset += take;
    }
  }

  protected async commit(digest: B3Digest, size: number): Promise<void> {
    const { statements } = this.#store;
    const pending = this.#buffer.subarray(0, this.#filled);
    const key = digest.unsafeBytes;
    if (this.#upload === undefined) {
      // The whole blob is one chunk (or empty): one row, one statement, atomic by itself.
      sqliteCall("store a blob", () =>
        this.#store.durably(() => statements.insertInline(key, size, this.#chunkSize, pending)),
      );
      this.#releaseBuffer();
      return;
    }
    if (pending.length > 0) this.#storeChunk(pending);
    this.#releaseBuffer();
    const upload = this.#upload;
    // Committed, a duplicate or reclaimed: from here on the upload is not a live writer's.
    this.#store.endUpload(upload);
    // The last chunk's running digest is the blob's: a mismatch would be a bug here, never stored.
    const running = this.#running?.digest();
    this.#running = undefined;
    if (!running || !digest.equals(running)) throw new BackendError("chunked digest disagrees with the blob digest");
    const stored = sqliteCall("store a blob", () =>
      this.#store.durably(() =>
        this.#store.db
          .transaction(() => {
            if (!statements.uploadIsOpen(upload)) throw reclaimedError(upload);
            if (statements.insertChunked(key, size, this.#chunkSize, upload)) {
              statements.deleteUpload(upload);
              return true;
            }
            // Already stored: this copy's chunks go, the existing blob stays.
            statements.abandonUpload(upload);
            return false;
          })
          .immediate(),
      ),
    );
    this.#upload = undefined;
    // The blob is safely there either way; the duplicate's rows go now or, if SQLite is busy, later.
    if (!stored) await this.#store.abandonedUploads.abandon([upload]);
  }

  protected async discard(): Promise<void> {
    this.#releaseBuffer();
    this.#running?.dispose();
    this.#running = undefined;
    const upload = this.#upload;
    this.#upload = undefined;
    if (upload !== undefined) this.#store.endUpload(upload);
    // Never fails: rows SQLite refuses to delete now are deleted later (see AbandonedUploads).
    if (upload !== undefined) await this.#store.abandonedUploads.abandon([upload]);
  }

  /** Stores one chunk row (starting the upload on the first) with the digests reads verify it by. */
  #storeChunk(bytes: Uint8Array): void {
    const { statements, blake3 } = this.#store;
    const hash = digestWith(blake3, bytes);
    this.#running ??= blake3.createHasher();
    this.#running.update(bytes);
    const running = this.#running.digestSoFar();
    sqliteCall("store a chunk", () => {
      this.#upload ??= this.#store.startUpload();
      if (!statements.insertChunk(this.#upload, this.#storedChunks, hash.unsafeBytes, running, bytes)) {
        throw reclaimedError(this.#upload);
      }
    });
    this.#storedChunks++;
  }

  /** Makes the buffer hold at least `needed` bytes (≤ the chunk size), keeping what it holds. */
  #reserve(needed: number): void {
    if (this.#buffer.length >= needed) return;
    const capacity = Math.min(this.#chunkSize, Math.max(needed, MIN_BUFFER, this.#buffer.length * 2));
    const grown = capacity === this.#chunkSize ? this.#store.takeChunkBuffer() : Buffer.allocUnsafeSlow(capacity);
    grown.set(this.#buffer.subarray(0, this.#filled));
    this.#buffer = grown;
  }

  #releaseBuffer(): void {
    if (this.#buffer.length === this.#chunkSize) this.#store.returnChunkBuffer(this.#buffer);
    this.#buffer = EMPTY;
    this.#filled = 0;
  }
}

function reclaimedError(upload: number): BackendError {
  return new BackendError(
    `upload ${upload} was reclaimed by another process that took its owner for dead; nothing was stored`,
  );
}
