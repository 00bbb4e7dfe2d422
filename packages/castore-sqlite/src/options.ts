import { InvalidArgumentError } from "castore-core";
import { checkInteger, chunkSizesFor, DEFAULT_AVG_CHUNK_SIZE, type FastCdcOptions } from "castore-core/backend";

/** How hard SQLite works to make a commit survive power loss (WAL mode). */
export type SynchronousMode = "normal" | "full";

/** How to open a SQLite blob store. */
export interface SqliteBlobServiceOptions {
  /**
   * The database file. Omitted or "" opens a temporary store that is deleted on close. The parent
   * directory must exist (it is never created); the file is created when missing unless `readonly`.
   * Chunk bytes go in packs in the directory `<path>-chunks` beside it.
   */
  path?: string | undefined;
  /**
   * `full` (default): a blob whose writer closed survives power loss (its packs are synced as
   * they fill and at close, the database once per blob). `normal`: it survives a crash or kill of the
   * process; nothing is synced, so a power loss may undo the blobs of the moments before it or
   * leave them failing their reads with an `Integrity` error (never returning wrong bytes).
   */
  synchronous?: SynchronousMode | undefined;
  /** Open for reading only: writers are refused and the file must already exist (else `InvalidArgument`). */
  readonly?: boolean | undefined;
  /**
   * The average chunk size of new blobs, cut by content (FastCDC 2020) into chunks of avg/2 to
   * 2·avg bytes (default 262144: 131072 / 262144 / 524288, snix's sizes; 512 to 2097152). A seek
   * or a ranged read loads and verifies one chunk; a writer buffers at most a few. Existing blobs
   * keep their chunks.
   */
  avgChunkSize?: number | undefined;
  /** How long a statement waits for another process's lock before failing, in ms (default 10 000). */
  busyTimeout?: number | undefined;
  /**
   * The lease of an unfinished upload, in ms (default 60 000). A writer's process renews the leases
   * of its uploads every quarter of this while it runs; an upload whose lease lapsed belongs to a
   * process that died (on this host or any other sharing the file) and any process using the file
   * deletes its rows. Uploads of a process on this host that no longer runs go at once. Hosts that
   * share a file must agree on the time to within a fraction of the lease.
   */
  uploadLease?: number | undefined;
  /**
   * A bound on the bytes of blob and chunk data stored (each shared chunk once; SQLite's own
   * overhead not included): beyond it, the least recently used blobs are evicted, with the chunks
   * no other blob uses, in the background. A positive integer; omitted: unbounded. See the README
   * ("Bounded stores") for exactly what is never evicted. Needs a writable store.
   */
  maxSize?: number | undefined;
}

/** Options with every default applied. */
export interface ResolvedOptions {
  readonly path: string;
  readonly synchronous: SynchronousMode;
  readonly readonly: boolean;
  /** The chunker's sizes for new blobs. */
  readonly chunking: FastCdcOptions;
  readonly busyTimeout: number;
  readonly uploadLease: number;
  /** Undefined: unbounded. */
  readonly maxSize: number | undefined;
}

/** The smallest average FastCDC allows with max = 2·avg ≥ 1 KiB. */
export const MIN_AVG_CHUNK_SIZE = 512;
/** min = avg/2 may be at most 1 MiB in FastCDC. */
export const MAX_AVG_CHUNK_SIZE = 2 << 20;
export const MAX_BUSY_TIMEOUT = 600_000;
const DEFAULT_BUSY_TIMEOUT = 10_000;
export const DEFAULT_UPLOAD_LEASE = 60_000;
/** Short leases are for tests; renewals come every quarter of a lease. */
export const MIN_UPLOAD_LEASE = 20;
export const MAX_UPLOAD_LEASE = 86_400_000;

/** Applies defaults and checks ranges; bad values are `InvalidArgument` errors. */
export function resolveOptions(options: SqliteBlobServiceOptions): ResolvedOptions {
  const synchronous = options.synchronous ?? "full";
  if (synchronous !== "normal" && synchronous !== "full") {
    throw new InvalidArgumentError(`synchronous must be "normal" or "full", got ${JSON.stringify(synchronous)}`);
  }
  const avgChunkSize = options.avgChunkSize ?? DEFAULT_AVG_CHUNK_SIZE;
  checkInteger("avgChunkSize", avgChunkSize, MIN_AVG_CHUNK_SIZE, MAX_AVG_CHUNK_SIZE);
  const busyTimeout = options.busyTimeout ?? DEFAULT_BUSY_TIMEOUT;
  checkInteger("busyTimeout", busyTimeout, 0, MAX_BUSY_TIMEOUT);
  const uploadLease = options.uploadLease ?? DEFAULT_UPLOAD_LEASE;
  checkInteger("uploadLease", uploadLease, MIN_UPLOAD_LEASE, MAX_UPLOAD_LEASE);
  const maxSize = options.maxSize;
  if (maxSize !== undefined) {
    checkInteger("maxSize", maxSize, 1, Number.MAX_SAFE_INTEGER);
    if (options.readonly === true) {
      throw new InvalidArgumentError("maxSize needs a writable store: a read-only store cannot evict");
    }
  }
  const path = options.path ?? "";
  if (typeof path !== "string") throw new InvalidArgumentError(`path must be a string, got ${typeof path}`);
  return {
    path,
    synchronous,
    readonly: options.readonly === true,
    chunking: chunkSizesFor(avgChunkSize),
    busyTimeout,
    uploadLease,
    maxSize,
  };
}
