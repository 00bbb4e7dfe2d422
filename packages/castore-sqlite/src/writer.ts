import { type B3Digest, BackendError } from "castore-core";
import {
  BaseBlobWriter,
  ChunkListSealer,
  ChunkSplitter,
  concatBytes,
  copyBytes,
  type SplitChunk,
} from "castore-core/backend";
import type { ChunkFileWrites } from "./chunk-files.js";
import { type ChunkFileRef, deleteListedFiles } from "./file-deletes.js";
import { sqliteCall } from "./sqlite-errors.js";
import type { Store } from "./store.js";

const EMPTY = new Uint8Array(0);
/**
 * Chunks are stored in batches of about two average chunks (at most this many bytes), two
 * transactions each (pins, then rows): a commit logs every b-tree page it touched, so a commit per
 * chunk would log far more than the rows. Batches of eight measured no faster (0.31 against 0.30
 * GB/s on a 1 GiB put) and would let a bounded store overshoot its bound by more.
 */
const MAX_BATCH_BYTES = 1 << 20;

/**
 * Streams a blob into the store. The bytes are cut by content (core's ChunkSplitter: FastCDC 2020
 * with the store's sizes); each chunk is stored, once per digest in the whole store, as soon as it
 * is cut and known not to be the blob's only chunk, so memory stays at a few chunks whatever the
 * blob's length. A blob that
 * turns out to be one piece is stored inline in its `blobs` row at `close`, where its digest is the
 * only check it needs.
 *
 * Nothing is visible until `commit` inserts the `blobs` row and its chunk list in one transaction;
 * until then the chunks are pinned by an upload owned by this process, which abort, or any process
 * once the upload's lease lapsed, releases.
 */
export class SqliteBlobWriter extends BaseBlobWriter {
  readonly #store: Store;
  readonly #splitter: ChunkSplitter;
  /** Bytes fed to the splitter per step: finished chunks are stored between steps. */
  readonly #step: number;
  /** Chunks are stored once this many bytes of them are queued. */
  readonly #batchBytesWanted: number;
  /** The first chunk, held until another follows it (else the blob is one piece, stored inline). */
  #first: StoredChunk | undefined;
  #chunksCut = 0;
  /** Chunks cut but not yet stored: stored together (see MAX_BATCH_BYTES). */
  #batch: StoredChunk[] = [];
  #batchBytes = 0;
  /** The upload pinning this blob's chunks, once a first chunk is stored. */
  #upload: number | undefined;
  /** The chunk files this writer wrote or will list, made durable before its blob commits. */
  #files: ChunkFileWrites | undefined;
  /** The last batch's files and rows being stored (see #flush). */
  #storing: Promise<void> = Promise.resolve();
  #storedChunks = 0;
  /** Seals the chunk list as its chunks are pinned, in order (see insertChunked). */
  #sealer: ChunkListSealer | undefined;

  constructor(store: Store) {
    super();
    this.#store = store;
    // Borrowing: the chunk's bytes in the piece being written are views, joined into the row's value
    // (one copy) rather than copied by the splitter and then joined again.
    this.#splitter = new ChunkSplitter(store.options.chunking, store.blake3, { borrow: true });
    this.#step = store.options.chunking.maxSize;
    this.#batchBytesWanted = Math.min(MAX_BATCH_BYTES, 2 * store.options.chunking.avgSize);
  }

  protected async writeChunk(chunk: Uint8Array): Promise<void> {
    // A plain Uint8Array view of the caller's bytes: on a Node Buffer, `slice` makes a view, not the
    // copy the splitter takes, and the caller may reuse its buffer once write() resolves.
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // A step at a time: however large the caller's piece, the writer holds a few chunks at most.
    for (let offset = 0; offset < bytes.length; offset += this.#step) {
      for (const finished of this.#splitter.push(bytes.subarray(offset, offset + this.#step))) {
        if (this.#add(finished)) await this.#flush();
      }
    }
    // Chunks still queued may be views of the caller's piece, which is the caller's again once this returns.
    this.#ownQueued();
  }

  protected async commit(digest: B3Digest, size: number): Promise<void> {
    for (const finished of this.#splitter.finish()) this.#add(finished);
    await this.#flush();
    await this.#storing;
    const { statements, recency } = this.#store;
    const key = digest.unsafeBytes;
    if (this.#upload === undefined) {
      // One piece (or empty): one row and its use, one transaction.
      const data = this.#first ? joined(this.#first.segments) : EMPTY;
      this.#first = undefined;
      await this.#roomForWrite();
      const stored = sqliteCall("store a blob", () =>
        this.#store.durably(() => statements.insertInline(key, size, data, recency.tick())),
      );
      this.#afterCommit(stored, digest);
      return;
    }
    const upload = this.#upload;
    const seal = (this.#sealer as ChunkListSealer).seal(digest, size);
    this.#sealer = undefined;
    // Before the blob can be visible, every file it lists is on disk, not only in the page cache.
    await this.#files?.makeDurable();
    // Committed, a duplicate or reclaimed: from here on the upload is not a live writer's.
    this.#store.endUpload(upload);
    const stored = sqliteCall("store a blob", () =>
      this.#store.durably(() =>
        this.#store.db
          .transaction(() => {
            if (!statements.uploadIsOpen(upload)) throw reclaimedError(upload);
            if (statements.insertChunked(key, size, seal, upload, recency.tick())) {
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
    this.#afterCommit(stored, digest);
    // The blob is safely there either way; the duplicate's pins go now or, if SQLite is busy, later.
    if (!stored) await this.#store.abandonedUploads.abandon([upload]);
  }

  /**
   * In a bounded store: a blob that was already stored is used now (its writer just got its
   * digest back: it becomes the most recently used blob, which eviction never takes), and an
   * eviction pass starts in the background if the store is over its bound.
   */
  #afterCommit(stored: boolean, digest: B3Digest): void {
    const { evictor, recency } = this.#store;
    if (!evictor) return;
    if (!stored) recency.touch(digest.unsafeBytes, digest.toHex());
    evictor.noticeWrite();
  }

  /** In a bounded store over its bound: waits for the eviction pass under way (see Evictor). */
  async #roomForWrite(): Promise<void> {
    const wait = this.#store.evictor?.roomForWrite();
    if (wait) await wait;
  }

  protected async discard(): Promise<void> {
    this.#first = undefined;
    this.#batch = [];
    this.#batchBytes = 0;
    this.#sealer?.dispose();
    this.#sealer = undefined;
    // Nothing may still write to the files that releasing the upload deletes.
    await this.#storing.catch(() => {});
    await this.#files?.settle();
    const upload = this.#upload;
    this.#upload = undefined;
    if (upload === undefined) return;
    this.#store.endUpload(upload);
    // Never fails: rows SQLite refuses to delete now are deleted later (see AbandonedUploads).
    await this.#store.abandonedUploads.abandon([upload]);
  }

  /**
   * Takes a finished chunk: the first waits for a second, which makes the blob a chunked one.
   * Returns whether a full batch is queued (to be stored before more chunks come). The chunk's
   * segments may be views of the piece being written: a batch stored during this write is written
   * to its files straight from them (no copy); what is still queued when the write returns is
   * copied then (see #ownQueued).
   */
  #add(chunk: SplitChunk): boolean {
    const row = { digest: chunk.digest.unsafeBytes, size: chunk.size, segments: chunk.segments, owned: false };
    if (this.#chunksCut++ === 0) {
      this.#first = row;
      return false;
    }
    if (this.#first) {
      this.#queue(this.#first);
      this.#first = undefined;
    }
    this.#queue(row);
    return this.#batchBytes >= this.#batchBytesWanted;
  }

  /** Queues one chunk for storing. */
  #queue(row: StoredChunk): void {
    this.#batch.push(row);
    this.#batchBytes += row.size;
  }

  /** Gives every chunk still held an array of its own (see #add), once. */
  #ownQueued(): void {
    const own = (row: StoredChunk): StoredChunk =>
      row.owned ? row : { ...row, segments: [ownCopy(row.segments)], owned: true };
    if (this.#first) this.#first = own(this.#first);
    this.#batch = this.#batch.map(own);
  }

  /**
   * Stores the queued chunks (once per digest in the store), pinned to this writer's upload; in a
   * bounded store over its bound, once eviction has made room. Pins first, then the files of the
   * chunks the store lacks, then their rows (see Statements.pinChunks and ChunkFiles). The files
   * and rows of one batch are stored while the next batch is cut: this waits only for the batch
   * before, so the disk and the hashing work side by side.
   */
  async #flush(): Promise<void> {
    await this.#storing;
    if (this.#batch.length === 0) return;
    await this.#roomForWrite();
    const batch = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    const { statements } = this.#store;
    const upload = sqliteCall("store chunks", () => (this.#upload ??= this.#store.startUpload()));
    const chunks = batch.map(({ digest, size }) => ({ digest, size }));
    const stored = sqliteCall("store chunks", () => statements.pinChunks(upload, this.#storedChunks, chunks));
    if (!stored) throw reclaimedError(upload);
    this.#sealer ??= new ChunkListSealer(this.#store.blake3);
    for (const { digest, size } of chunks) this.#sealer.add(digest, size);
    this.#storedChunks += batch.length;
    this.#storing = this.#storeFiles(upload, batch, stored);
    // Failures surface at the next flush or at close; this keeps an early one from going unhandled.
    this.#storing.catch(() => {});
  }

  /**
   * Writes the files of a pinned batch's chunks the store lacks (small ones get none), then adds
   * their rows. The files are written before the first await (from segments that may be views of
   * the piece being written: see #add), and a chunk kept in its row is joined into an array of its
   * own before it.
   */
  async #storeFiles(upload: number, batch: readonly StoredChunk[], stored: readonly (number | null | undefined)[]) {
    const { statements, chunkFiles } = this.#store;
    const files = (this.#files ??= chunkFiles.openBatch(this.#store.options.synchronous === "full"));
    const added = new Map<string, NewChunk>();
    for (const [i, { digest, size, segments }] of batch.entries()) {
      const where = stored[i];
      if (where === undefined) {
        // The same chunk twice in one batch is stored once.
        const path = chunkFiles.path(digest, upload);
        const inFile = size >= this.#store.chunkFileMinBytes;
        if (!added.has(path))
          added.set(path, { digest, size, path, segments, data: inFile ? undefined : ownCopy(segments) });
      } else if (where !== null && where !== upload) {
        files.borrow(chunkFiles.path(digest, where));
      }
    }
    const rows = [...added.values()];
    const writes = rows
      .filter(({ data }) => data === undefined)
      .map(({ path, segments }) => files.write(path, segments));
    await Promise.all(writes);
    const existing =
      rows.length === 0
        ? []
        : sqliteCall("store chunks", () =>
            statements.insertChunks(
              upload,
              rows.map(({ digest, size, data }) => ({ digest, size, data })),
            ),
          );
    if (!existing) {
      // Reclaimed meanwhile: our files are listed for deletion, then deleted.
      const refs = rows.filter(({ data }) => data === undefined).map(({ digest }) => [digest, upload] as const);
      sqliteCall("store chunks", () => statements.recordFileDeletes(refs));
      deleteListedFiles(statements, chunkFiles, refs);
      throw reclaimedError(upload);
    }
    // Another writer stored some of these chunks meanwhile: its files serve, ours go (listed by insertChunks).
    const lost: ChunkFileRef[] = [];
    let raced = 0;
    for (const [i, where] of existing.entries()) {
      if (where === undefined) continue;
      raced++;
      const { digest, data } = rows[i] as NewChunk;
      if (data === undefined) lost.push([digest, upload]);
      if (where !== null) files.borrow(chunkFiles.path(digest, where));
    }
    deleteListedFiles(statements, chunkFiles, lost);
    const written = rows.length - raced;
    statements.countChunks(written, batch.length - written);
  }
}

/** A chunk of a batch that the store lacked: its file is written (if it gets one) before its row goes in. */
interface NewChunk {
  readonly digest: Uint8Array;
  readonly size: number;
  /** Where its file goes, if it gets one (see CHUNK_FILE_MIN_BYTES). */
  readonly path: string;
  readonly segments: readonly Uint8Array[];
  /** For a chunk kept in its row (too small for a file): its bytes, as an array of its own. */
  readonly data: Uint8Array | undefined;
}

/** A chunk cut and not yet stored: its digest, its length and its bytes in order. */
interface StoredChunk {
  readonly digest: Uint8Array;
  readonly size: number;
  /** Views of the piece being written, until #ownQueued gives the chunk an array of its own. */
  readonly segments: readonly Uint8Array[];
  /** Whether `segments` is an array of the chunk's own (copied once, whatever writes follow). */
  readonly owned: boolean;
}

/** The segments joined into a fresh array (also when there is one: it may be a borrowed view). */
function ownCopy(segments: readonly Uint8Array[]): Uint8Array {
  return segments.length === 1 ? copyBytes(segments[0] as Uint8Array) : concatBytes(segments);
}

/** The segments as one array: the one there is, or a join. */
function joined(segments: readonly Uint8Array[]): Uint8Array {
  return segments.length === 1 ? (segments[0] as Uint8Array) : concatBytes(segments);
}

function reclaimedError(upload: number): BackendError {
  return new BackendError(
    `upload ${upload} was reclaimed by another process that took its owner for dead; nothing was stored`,
  );
}
