import {
  B3Digest,
  type BlobLister,
  type BlobReader,
  type BlobWriter,
  type ChunkMeta,
  ClosedError,
  InvalidArgumentError,
  type SignalOptions,
  type StoreStatistics,
  UnsupportedError,
} from "castore-core";
import { BaseBlobService, throwIfAborted } from "castore-core/backend";
import { primeMallocThresholds } from "castore-core/node";
import { resolveOptions, type SqliteBlobServiceOptions } from "./options.js";
import { openStoredBlob } from "./reader.js";
import { sqliteCall } from "./sqlite-errors.js";
import { Store, type StoreHooks } from "./store.js";
import { SqliteBlobWriter } from "./writer.js";

/** Digests read per statement while listing. */
const LIST_PAGE = 512;

let releasedState: (service: SqliteBlobService) => boolean;
let storeOf: (service: SqliteBlobService) => Store;
let openWith: (options: SqliteBlobServiceOptions, hooks: StoreHooks) => Promise<SqliteBlobService>;

/**
 * Whether a service is closed with its connection released and, for a temporary store, its files
 * deleted. For tests only: exported from `castore-sqlite/testing`, not from the package root.
 */
export function isReleased(service: SqliteBlobService): boolean {
  return releasedState(service);
}

/**
 * Opens a store with a replaced clock, upload owner, or without the lease timer (to simulate
 * other processes and hosts, and the passing of time, deterministically). For tests only.
 */
export function openWithHooks(options: SqliteBlobServiceOptions, hooks: StoreHooks): Promise<SqliteBlobService> {
  return openWith(options, hooks);
}

/** Runs what the lease timer does at each tick: renew this store's leases, reclaim dead uploads. For tests only. */
export async function leaseTick(service: SqliteBlobService): Promise<void> {
  const store = storeOf(service);
  store.renewLeases();
  await store.reclaimDeadUploads();
  await store.sweepStrayPacksOnce();
}

/**
 * Resolves once the store's eviction has caught up: no pass under way, and the store within its
 * `maxSize` (or nothing left that may be evicted). Resolves at once for an unbounded store. For
 * tests only: a test waits for this event instead of sleeping.
 */
export async function settleEviction(service: SqliteBlobService): Promise<void> {
  await storeOf(service).evictor?.settle();
}

/**
 * A BlobService in one SQLite file (WAL mode, 64 KiB pages). Blobs are written as they stream in,
 * become visible atomically when their writer closes, and are verified as they are read. Several
 * processes may use the same file at once.
 */
export class SqliteBlobService extends BaseBlobService implements BlobLister {
  readonly #store: Store;

  static {
    releasedState = (service) => service.closed && service.#store.released;
    storeOf = (service) => service.#store;
    openWith = async (options, hooks) => {
      if (typeof options !== "object" || options === null) {
        throw new InvalidArgumentError("expected SqliteBlobService options (an object)");
      }
      return new SqliteBlobService(await Store.open(resolveOptions(options), hooks));
    };
  }

  private constructor(store: Store) {
    super();
    this.#store = store;
  }

  /** Opens (creating if needed) a store; see {@link SqliteBlobServiceOptions}. */
  static async open(options: SqliteBlobServiceOptions = {}): Promise<SqliteBlobService> {
    // A store moves big blobs in and out of its files (see primeMallocThresholds).
    primeMallocThresholds();
    return openWith(options, {});
  }

  /** Absolute path of the database file (inside a directory deleted on close, for a temporary store). */
  get file(): string {
    return this.#store.file;
  }

  /** The bound on stored bytes this store was opened with (undefined: unbounded). */
  get maxSize(): number | undefined {
    return this.#store.options.maxSize;
  }

  /** Whether this store refuses writers. */
  get readonly(): boolean {
    return this.#store.options.readonly;
  }

  /** Number of stored blobs. */
  async count(): Promise<number> {
    if (this.closed) throw new ClosedError("blob service is closed");
    return sqliteCall("count blobs", () => this.#store.statements.countBlobs());
  }

  /**
   * Every stored digest, in byte order (castore-core's `BlobLister`). It reads a page of digests at
   * a time and holds no transaction in between, so it never keeps writers (here or in another
   * process) waiting, nor the write-ahead log from being folded back into the file. A blob stored
   * before the walk and still there at its end is yielded once; one stored meanwhile may or may not be.
   */
  async *listBlobs(options?: SignalOptions): AsyncGenerator<B3Digest> {
    let after: Uint8Array = new Uint8Array(0);
    for (;;) {
      if (this.closed) throw new ClosedError("blob service is closed");
      throwIfAborted(options?.signal);
      const page = sqliteCall("list blobs", () => this.#store.statements.digestsAfter(after, LIST_PAGE));
      for (const digest of page) yield B3Digest.fromBytes(digest);
      if (page.length < LIST_PAGE) return;
      after = page[page.length - 1] as Uint8Array;
    }
  }

  /**
   * Bytes of blob and chunk data stored, each shared chunk counted once (the conformance suite's
   * `storedBytes` capability): what deduplication saves shows here. SQLite's own overhead (pages,
   * indexes, free space) is not included.
   */
  async storedBytes(): Promise<number> {
    if (this.closed) throw new ClosedError("blob service is closed");
    return sqliteCall("measure the store", () => this.#store.statements.storedBytes());
  }

  /**
   * The StatisticsReporter capability (what the daemon's metrics show): blobs and bytes stored, and
   * what this process's writes and evictions did since it opened the store. The sizes are counted
   * by a scan of the tables only when another connection has written since the last question, so
   * a scrape costs nothing while this process is the only writer. Nothing once the store is closed.
   */
  statistics(): StoreStatistics {
    if (this.closed) return {};
    const { statements, storedBytes, blobCount } = this.#store;
    const { chunksWritten, chunksDeduplicated, evictions } = statements.activity;
    try {
      return {
        blobs: blobCount.value(),
        storedBytes: storedBytes.value(),
        chunksWritten,
        chunksDeduplicated,
        evictions,
      };
    } catch {
      // A busy or failing database must not fail a metrics scrape: the counters are still known.
      return { chunksWritten, chunksDeduplicated, evictions };
    }
  }

  /** A blob, or a chunk of one (every chunk is readable as a blob by its digest). */
  protected async hasImpl(digest: B3Digest): Promise<boolean> {
    return sqliteCall("look a blob up", () => this.#store.statements.lookup(digest.unsafeBytes) !== undefined);
  }

  protected async openReadImpl(digest: B3Digest): Promise<BlobReader | undefined> {
    return openStoredBlob(this.#store, digest);
  }

  /** The chunk list from the table: `[]` for a one-piece blob (or a chunk read as a blob). */
  protected override async chunksImpl(digest: B3Digest): Promise<ChunkMeta[] | undefined> {
    return sqliteCall("read a chunk list", () => {
      const stored = this.#store.statements.lookup(digest.unsafeBytes);
      if (!stored) return undefined;
      if (stored.kind !== "chunked") return [];
      return this.#store.statements
        .chunkList(digest.unsafeBytes)
        .map(([chunk, size]) => ({ digest: B3Digest.fromBytes(chunk), size }));
    });
  }

  protected async openWriteImpl(): Promise<BlobWriter> {
    if (this.#store.options.readonly) throw new UnsupportedError(`${this.#store.file} is open read-only`);
    return new SqliteBlobWriter(this.#store);
  }

  protected override closeImpl(): void {
    this.#store.close();
  }
}

/** Opens a SQLite blob store at `path` ("" or nothing for a temporary one), or with full options. */
export function openSqliteBlobService(pathOrOptions?: string | SqliteBlobServiceOptions): Promise<SqliteBlobService> {
  return SqliteBlobService.open(typeof pathOrOptions === "string" ? { path: pathOrOptions } : pathOrOptions);
}
