import { type B3Digest, BackendError } from "castore-core";
import {
  BaseBlobWriter,
  ChunkListSealer,
  ChunkSplitter,
  concatBytes,
  copyBytes,
  type SplitChunk,
} from "castore-core/backend";
import type { ChunkFileLocation } from "./chunk-files.js";
import { deleteListedPacks } from "./file-deletes.js";
import type { PackRef } from "./pack-rows.js";
import type { PackWrites } from "./pack-writes.js";
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
  /** The packs this writer wrote and the files it will list, made durable before its blob commits. */
  #files: PackWrites | undefined;
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
    let unnamedPacks: PackRef[] = [];
    const stored = sqliteCall("store a blob", () =>
      this.#store.durably(() =>
        this.#store.db
          .transaction(() => {
            if (!statements.uploadIsOpen(upload)) throw reclaimedError(upload);
            if (statements.insertChunked(key, size, seal, upload, recency.tick())) {
              unnamedPacks = statements.finishUpload(upload);
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
    // Packs of which another writer stored every chunk first: nothing names them.
    deleteListedPacks(statements, this.#store.chunkFiles, unnamedPacks);
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
    // If another process reclaimed the upload meanwhile, it may have forgotten a pack this writer
    // created after: declared again, the release finds it. Refused (SQLite busy), the next open's
    // sweep of stray packs does (see sweepStrayPacks).
    try {
      this.#store.statements.declarePacks(upload, this.#files?.packsDeclared ?? 0);
    } catch {
      // See above.
    }
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
   * bounded store over its bound, once eviction has made room. Pins (declaring a new pack when
   * the chunks need one) first, then the bytes of the chunks the store lacks, appended to the
   * pack, then their rows (see Statements.pinChunks and ChunkFiles). The bytes and rows of one
   * batch are stored while the next batch is cut: this waits only for the batch before, so the
   * disk and the hashing work side by side.
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
    const files = (this.#files ??= this.#store.chunkFiles.openWrites(this.#store.options.synchronous === "full"));
    const chunks = batch.map(({ digest, size }) => ({ digest, size }));
    // A batch of chunks small enough for their rows needs no pack.
    const needsPack = batch.some(({ size }) => size >= this.#store.chunkFileMinBytes);
    const pack = needsPack ? files.packToDeclare() : undefined;
    const stored = sqliteCall("store chunks", () => statements.pinChunks(upload, this.#storedChunks, chunks, pack));
    if (!stored) throw reclaimedError(upload);
    if (pack !== undefined) files.declared(pack);
    this.#sealer ??= new ChunkListSealer(this.#store.blake3);
    for (const { digest, size } of chunks) this.#sealer.add(digest, size);
    this.#storedChunks += batch.length;
    this.#storing = this.#storeFiles(upload, batch, stored);
    // Failures surface at the next flush or at close; this keeps an early one from going unhandled.
    this.#storing.catch(() => {});
  }

  /**
   * Appends the bytes of a pinned batch's chunks the store lacks to this upload's pack (small ones
   * go in their rows), then adds their rows once the pack write is done. The bytes are copied for
   * that write before the first await (from segments that may be views of the piece being written:
   * see #add), and a chunk kept in its row is joined into an array of its own before it.
   */
  async #storeFiles(
    upload: number,
    batch: readonly StoredChunk[],
    stored: readonly (ChunkFileLocation | null | undefined)[],
  ) {
    const { statements, chunkFiles } = this.#store;
    const files = this.#files as PackWrites;
    const added = new Map<string, NewChunk>();
    for (const [i, { digest, size, segments }] of batch.entries()) {
      const where = stored[i];
      if (where === undefined) {
        // The same chunk twice in one batch is stored once.
        const key = Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString("latin1");
        if (added.has(key)) continue;
        const inFile = size >= this.#store.chunkFileMinBytes;
        added.set(key, {
          digest,
          size,
          file: inFile ? files.append(upload, segments) : undefined,
          data: inFile ? undefined : ownCopy(segments),
        });
      } else if (where !== null && where.upload !== upload) {
        files.borrow(chunkFiles.pathOf(digest, where));
      }
    }
    await files.endBatch();
    const rows = [...added.values()];
    const existing = rows.length === 0 ? [] : sqliteCall("store chunks", () => statements.insertChunks(upload, rows));
    if (!existing) {
      // Reclaimed meanwhile: the packs no row names are deleted (the process that reclaimed the
      // upload may have ended it before this writer created or declared some of them).
      const packs = sqliteCall("store chunks", () => statements.abandonPacks(upload, files.packsDeclared));
      deleteListedPacks(statements, chunkFiles, packs);
      throw reclaimedError(upload);
    }
    // Another writer stored some of these chunks meanwhile: its copies serve, ours are dead bytes in our pack.
    let raced = 0;
    for (const [i, where] of existing.entries()) {
      if (where === undefined) continue;
      raced++;
      const { digest } = rows[i] as NewChunk;
      if (where !== null && where.upload !== upload) files.borrow(chunkFiles.pathOf(digest, where));
    }
    const written = rows.length - raced;
    statements.countChunks(written, batch.length - written);
  }
}

/** A chunk of a batch that the store lacked: its bytes are written (if they go in a pack) before its row goes in. */
interface NewChunk {
  readonly digest: Uint8Array;
  readonly size: number;
  /** Where in a pack its bytes went, if they go in one (see CHUNK_FILE_MIN_BYTES). */
  readonly file: ChunkFileLocation | undefined;
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
