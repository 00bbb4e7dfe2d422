import { closeSync, fchmodSync, mkdtempSync, openSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import Database from "better-sqlite3";
import { type Blake3Implementation, blake3, InvalidArgumentError } from "castore-core";
import type { FastCdcOptions } from "castore-core/backend";
import { AbandonedUploads } from "./abandoned-uploads.js";
import { ChunkFiles } from "./chunk-files.js";
import { Evictor } from "./eviction.js";
import { finishFileDeletes, sweepStrayPacks } from "./file-deletes.js";
import { assertSupportedNode } from "./node-support.js";
import type { ResolvedOptions } from "./options.js";
import { ReadPins } from "./read-pins.js";
import { Recency } from "./recency.js";
import { prepareDatabase } from "./schema.js";
import { asBackendError, isNoRoomForIndex, sqliteCall } from "./sqlite-errors.js";
import { Statements } from "./statements.js";
import { blobCountTally, storedBytesTally, type Tally } from "./tally.js";
import { abandonDeadUploads, OWNER, type UploadOwner } from "./uploads.js";

/** What tests may replace: the clock leases are measured by, the owner uploads are registered to. */
export interface StoreHooks {
  /** The time in ms (default Date.now). */
  readonly now?: (() => number) | undefined;
  /** Who this store's uploads belong to (default: this process). */
  readonly owner?: UploadOwner | undefined;
  /** Whether a timer renews leases and reclaims lapsed uploads (default true). */
  readonly leaseTimer?: boolean | undefined;
  /** Chunk sizes beyond what `avgChunkSize` can say (fixed-size chunks for a benchmark baseline). */
  readonly chunking?: FastCdcOptions | undefined;
  /**
   * The smallest chunk stored in a pack (default CHUNK_FILE_MIN_BYTES): 0 puts the small chunks of
   * a test's store in packs too, so that tests quick with small chunks cover packs.
   */
  readonly chunkFileMinBytes?: number | undefined;
  /** A writer starts a new pack past this many bytes (default PACK_BYTES): small, for tests of many packs. */
  readonly packBytes?: number | undefined;
}

/**
 * The smallest chunk stored in a pack; a smaller one keeps its bytes in its row. Chosen when every
 * chunk had a file of its own, which cost a create, a sync of it and of its directory, an inode and
 * a whole block: for a chunk of a few KiB far more than SQLite's log writing it twice (a store of
 * 1 KiB chunks ran its tests several times slower). The default chunks (128 KiB and more) all go
 * in packs.
 */
export const CHUNK_FILE_MIN_BYTES = 32 * 1024;

/** An open store file: the connection, its prepared statements and what writers and readers share. */
export class Store {
  readonly db: Database.Database;
  readonly statements: Statements;
  readonly blake3: Blake3Implementation;
  readonly options: ResolvedOptions;
  /** Deletes the rows of uploads that will never commit, retrying while SQLite refuses. */
  readonly abandonedUploads: AbandonedUploads;
  /** Absolute path of the database file. */
  readonly file: string;
  /** The packs (and older chunk files) beside it. */
  readonly chunkFiles: ChunkFiles;
  /** The smallest chunk stored in a file (see CHUNK_FILE_MIN_BYTES). */
  readonly chunkFileMinBytes: number;
  /** The directory to delete on close, for a temporary store. */
  readonly #temporaryDir: string | undefined;
  readonly #syncFull: Database.Statement | undefined;
  readonly #syncNormal: Database.Statement | undefined;
  /** The owner this store registers uploads to, and the clock their leases run on. */
  readonly owner: UploadOwner;
  readonly now: () => number;
  /** When blobs were last used (written, and read in a bounded store). */
  readonly recency: Recency;
  /** Chunked blobs open readers of this store read (kept only in a bounded store). */
  readonly pins: ReadPins;
  /** Bytes of blob and chunk data stored, kept without a scan per question (eviction, statistics). */
  readonly storedBytes: Tally;
  /** Blobs stored, likewise (statistics). */
  readonly blobCount: Tally;
  /** Keeps a store opened with `maxSize` within it; undefined for an unbounded (or read-only) store. */
  readonly evictor: Evictor | undefined;
  /** Uploads of this store's live writers, whose leases the lease timer renews. */
  readonly #liveUploads = new Set<number>();
  #leaseTimer: NodeJS.Timeout | undefined;
  /** Whether sweepStrayPacksOnce ran. */
  #strayPacksSwept = false;

  private constructor(
    db: Database.Database,
    blake3: Blake3Implementation,
    options: ResolvedOptions,
    file: string,
    temporaryDir: string | undefined,
    hooks: StoreHooks,
  ) {
    this.db = db;
    this.owner = hooks.owner ?? OWNER;
    this.now = hooks.now ?? Date.now;
    this.statements = new Statements(db);
    this.blake3 = blake3;
    this.options = hooks.chunking ? { ...options, chunking: hooks.chunking } : options;
    this.file = file;
    this.chunkFiles = new ChunkFiles(file, hooks.packBytes);
    this.chunkFileMinBytes = hooks.chunkFileMinBytes ?? CHUNK_FILE_MIN_BYTES;
    this.#temporaryDir = temporaryDir;
    this.abandonedUploads = new AbandonedUploads(file, this.statements, this.chunkFiles);
    this.recency = new Recency(this.statements, this.now);
    this.pins = new ReadPins();
    this.storedBytes = storedBytesTally(this.statements);
    this.blobCount = blobCountTally(this.statements);
    this.evictor = options.maxSize === undefined || options.readonly ? undefined : new Evictor(this, options.maxSize);
    if (options.synchronous === "full" && !options.readonly) {
      this.#syncFull = db.prepare("PRAGMA synchronous = FULL");
      this.#syncNormal = db.prepare("PRAGMA synchronous = NORMAL");
    }
  }

  /** Opens (creating if allowed) the file the options name and reclaims what dead writers left. */
  static async open(options: ResolvedOptions, hooks: StoreHooks = {}): Promise<Store> {
    assertSupportedNode();
    const implementation = await blake3();
    const { file, temporaryDir } = locate(options);
    let db: Database.Database | undefined;
    try {
      if (!options.readonly) createPrivately(file);
      db = sqliteCall(`open ${file}`, () => {
        try {
          return connect(file, options, false);
        } catch (error) {
          // No room for the 32 KiB shared-memory index SQLite keeps beside the file: open it for
          // this process alone (the index then lives in memory), so that reads still work.
          if (options.readonly || !isNoRoomForIndex(error)) throw error;
          return connect(file, options, true);
        }
      });
      const store = new Store(db, implementation, options, file, temporaryDir, hooks);
      if (!options.readonly) {
        // Best effort: a store must open (and serve reads) even where it cannot write, on a full disk.
        await store.reclaimDeadUploads().catch(() => {});
        if (hooks.leaseTimer !== false) store.#startLeaseTimer();
        store.evictor?.start();
      }
      return store;
    } catch (error) {
      if (db?.open) db.close();
      if (temporaryDir) rmSync(temporaryDir, { recursive: true, force: true });
      throw asBackendError(`open ${file}`, error);
    }
  }

  /**
   * Runs the statements that make a blob visible. With `synchronous: full` the commit syncs the
   * write-ahead log, which makes every row written before it durable (the bytes those rows name
   * were synced before, see PackWrites.makeDurable): one fsync of the log per blob.
   */
  durably<T>(commit: () => T): T {
    if (!this.#syncFull || !this.#syncNormal) return commit();
    this.#syncFull.run();
    try {
      return commit();
    } finally {
      this.#syncNormal.run();
    }
  }

  /** Registers a new upload of a live writer of this store; the lease timer renews it until {@link endUpload}. */
  startUpload(): number {
    const upload = this.statements.startUpload(this.owner, this.now());
    this.#liveUploads.add(upload);
    return upload;
  }

  /** The writer of `upload` committed or gave it up: its lease is no longer renewed. */
  endUpload(upload: number): void {
    this.#liveUploads.delete(upload);
  }

  /** Renews the leases of this store's live uploads (while it has any): they are not crash leftovers. */
  renewLeases(): void {
    if (this.#liveUploads.size > 0) this.statements.renewUploads(this.owner.token, this.now());
  }

  /**
   * Abandons the uploads of dead writers (lapsed leases, dead local processes) and deletes their
   * rows (what SQLite refuses now is retried in the background), and the chunk files and packs a
   * killed process marked for deletion but did not delete.
   */
  async reclaimDeadUploads(): Promise<void> {
    const { statements, abandonedUploads, options } = this;
    const dead = sqliteCall("reclaim abandoned uploads", () =>
      abandonDeadUploads(statements, abandonedUploads.pending, this.owner, this.now(), options.uploadLease),
    );
    await abandonedUploads.abandon(dead);
    sqliteCall("delete chunk files", () => finishFileDeletes(statements, this.chunkFiles));
  }

  /**
   * Every quarter of a lease: renews this store's leases and reclaims what dead writers left, so a
   * long-running process cleans up after crashed peers without a restart. Failures (SQLite busy,
   * disk full) are retried at the next tick; three missed renewals still leave a lease standing.
   */
  #startLeaseTimer(): void {
    const every = Math.max(5, Math.floor(this.options.uploadLease / 4));
    this.#leaseTimer = setInterval(() => {
      try {
        this.renewLeases();
      } catch {
        // Retried at the next tick.
      }
      this.reclaimDeadUploads()
        .then(() => this.sweepStrayPacksOnce())
        .catch(() => {});
    }, every);
    // A process may exit with live uploads: their leases lapse and any later user reclaims them.
    this.#leaseTimer.unref();
  }

  /**
   * Deletes stray packs (see sweepStrayPacks), once per store: at its first lease tick, so that a
   * process that keeps the store open sweeps it, while a short-lived command (which strays do not
   * concern) never pays for listing the packs.
   */
  async sweepStrayPacksOnce(): Promise<void> {
    if (this.#strayPacksSwept) return;
    this.#strayPacksSwept = true;
    await sweepStrayPacks(this.statements, this.chunkFiles);
  }

  /** Closes the connection; a temporary store's files are deleted. */
  close(): void {
    clearInterval(this.#leaseTimer);
    try {
      if (this.db.open) this.evictor?.close();
      if (this.db.open && !this.options.readonly) this.abandonedUploads.close();
      if (this.db.open) this.db.close();
    } finally {
      if (this.#temporaryDir) {
        rmSync(this.#temporaryDir, { recursive: true, force: true });
        this.abandonedUploads.forgetAll();
      }
    }
  }

  /** Whether the connection is closed and, for a temporary store, its files are gone. */
  get released(): boolean {
    return !this.db.open && (this.#temporaryDir === undefined || !exists(this.#temporaryDir));
  }
}

/**
 * A connection to the store file, set up and checked (see prepareDatabase). `exclusive`: SQLite's
 * exclusive locking mode, which needs no shared-memory file but keeps every other connection out
 * until this one closes.
 */
function connect(file: string, options: ResolvedOptions, exclusive: boolean): Database.Database {
  const connection = new Database(file, {
    readonly: options.readonly,
    fileMustExist: options.readonly,
    timeout: options.busyTimeout,
  });
  try {
    if (exclusive) connection.pragma("locking_mode = EXCLUSIVE");
    prepareDatabase(connection, options.readonly, file);
    // Chunks are written without waiting for the disk; `durably` syncs once per blob.
    if (!options.readonly) connection.pragma("synchronous = NORMAL");
  } catch (error) {
    connection.close();
    throw error;
  }
  return connection;
}

/** Where the database file goes: the given path (checked) or a fresh temporary directory. */
function locate(options: ResolvedOptions): { file: string; temporaryDir: string | undefined } {
  if (options.path === "") {
    if (options.readonly) throw new InvalidArgumentError("a temporary store cannot be read-only: it starts empty");
    // mkdtemp makes the directory 0700, and the file inside is created 0600 like any new store.
    const temporaryDir = mkdtempSync(join(tmpdir(), "castore-sqlite-"));
    return { file: join(temporaryDir, "blobs.sqlite"), temporaryDir };
  }
  if (options.path.includes("\0")) throw new InvalidArgumentError("the database path contains a NUL character");
  const file = resolve(options.path);
  if (file === resolve("/")) throw new InvalidArgumentError(`${file} is the root directory, not a database file`);
  const parent = dirname(file);
  const parentStat = statOrUndefined(parent);
  if (!parentStat) throw new InvalidArgumentError(`cannot open ${file}: its directory ${parent} does not exist`);
  if (!parentStat.isDirectory()) throw new InvalidArgumentError(`cannot open ${file}: ${parent} is not a directory`);
  const fileStat = statOrUndefined(file);
  if (fileStat?.isDirectory()) throw new InvalidArgumentError(`${file} is a directory, not a database file`);
  // SQLite would only say "unable to open database file"; name the file and the reason instead.
  if (!fileStat && options.readonly) {
    throw new InvalidArgumentError(`cannot open ${file} read-only: the file does not exist`);
  }
  return { file, temporaryDir: undefined };
}

/**
 * Creates a missing store file readable and writable by its owner only (0600), whatever the
 * umask: blobs are private by default. SQLite gives the -wal and -shm files it creates the mode
 * of the database file. An existing file, and its mode, are left as they are.
 */
function createPrivately(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, "wx", 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return;
    throw error;
  }
  try {
    // The umask may have taken bits from 0600 (an owner who could not write to their own store).
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}

function statOrUndefined(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function exists(path: string): boolean {
  return statOrUndefined(path) !== undefined;
}
