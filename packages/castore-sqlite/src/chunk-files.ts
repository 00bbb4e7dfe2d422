import { chmodSync, closeSync, fsync, mkdirSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { storageError } from "./sqlite-errors.js";

/**
 * How many chunk files a writer syncs at once. The disk merges syncs that wait together; measured
 * here, 1 GiB as 256 KiB files synced four at a time as they were written went as fast as one file
 * of the same bytes written and synced once (`dd conv=fsync`), and one at a time at half that.
 */
const SYNCS_IN_FLIGHT = 4;

/**
 * The bytes of chunks, one file each, in a directory beside the database file
 * (`blobs.sqlite-chunks/HH/HEX.N`): SQLite's log would write every byte twice (once to the log, once
 * when the log is folded back into the file), a file once. HEX is the chunk digest in lowercase hex,
 * HH its first byte, N the upload that wrote the file: two uploads never share a name, so a file
 * deleted for a chunk row that is gone can never be one a newer row of the same digest names.
 *
 * The `chunks` row is the truth: a file counts only while a row names it, and its row is committed
 * only after the file is written (and, before the blob that lists it commits, synced). Files are
 * created readable by their owner alone (0600, in directories of 0700), like the database file.
 */
export class ChunkFiles {
  /** The directory of chunk files. */
  readonly root: string;
  /** Directories known to exist (created or found by this process). */
  readonly #directories = new Set<string>();

  /** @param databaseFile the store's database file; the chunk files go in `<databaseFile>-chunks` */
  constructor(databaseFile: string) {
    this.root = `${databaseFile}-chunks`;
  }

  /** Where the chunk `digest` written by upload `upload` lives. */
  path(digest: Uint8Array, upload: number): string {
    const hex = Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString("hex");
    return join(this.root, hex.slice(0, 2), `${hex}.${upload}`);
  }

  /**
   * A chunk's bytes, or undefined when its file does not exist (deleted since its row was read).
   * `size` is the chunk's length as listed: a file of any other length is returned as it is (at
   * most one byte more), for the reader's check to refuse. Synchronous, as SQLite's own reads
   * are: a read from the page cache costs less than handing it to the thread pool and back
   * (measured here: about a fifth of the CPU time per chunk).
   */
  read(path: string, size: number): Buffer | undefined {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (error) {
      if (codeOf(error) === "ENOENT") return undefined;
      throw fileError("open the chunk file", path, error);
    }
    try {
      // One byte more than listed: a longer file shows as one.
      const bytes = Buffer.allocUnsafe(size + 1);
      let got = 0;
      for (let last = -1; last !== 0 && got < bytes.length; got += last) {
        last = readSync(fd, bytes, got, bytes.length - got, got);
      }
      return bytes.subarray(0, got);
    } catch (error) {
      throw fileError("read the chunk file", path, error);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Deletes chunk files whose rows are gone (or never were); a file already gone is no error.
   * Other failures are ignored too: a file left behind costs space, never a wrong read (no row
   * names it), and throwing here would report a deletion that did happen as failed.
   */
  remove(paths: Iterable<string>): void {
    for (const path of paths) {
      try {
        unlinkSync(path);
      } catch {
        // See above.
      }
    }
  }

  /** Starts a batch of writes that a writer makes durable together before its blob commits. */
  openBatch(durable: boolean): ChunkFileWrites {
    return new ChunkFileWrites(this, durable);
  }

  /**
   * Makes sure the directory of `path` exists; returns the directories it created, each of which
   * must be synced (as an entry of its parent) before what is in it counts as durable.
   */
  ensureDirectoryOf(path: string): string[] {
    const directory = dirname(path);
    if (this.#directories.has(directory)) return [];
    const created: string[] = [];
    for (const dir of [this.root, directory]) {
      try {
        mkdirSync(dir, { mode: 0o700 });
        // The umask may have taken the owner's own bits (and with them the right to add files).
        chmodSync(dir, 0o700);
        created.push(dir);
      } catch (error) {
        if (codeOf(error) !== "EEXIST") throw fileError("create the chunk directory", dir, error);
      }
    }
    this.#directories.add(directory);
    return created;
  }
}

/**
 * The chunk files one writer creates: each written in full before its row may be committed,
 * synced in the background as they come (a few at a time), and all of them, with the directories
 * that gained entries, synced by {@link makeDurable} before the blob that lists them commits.
 */
export class ChunkFileWrites {
  readonly #files: ChunkFiles;
  readonly #durable: boolean;
  /** Syncs started and not yet awaited. */
  readonly #syncing = new Set<Promise<void>>();
  /** The first sync that failed: makeDurable reports it. */
  #failure: unknown;
  /** Directories that gained an entry (a new file or directory) since the last makeDurable. */
  readonly #dirtyDirectories = new Set<string>();
  /** Files other uploads wrote that this writer's blob will list: synced before it commits. */
  readonly #borrowed = new Set<string>();

  constructor(files: ChunkFiles, durable: boolean) {
    this.#files = files;
    this.#durable = durable;
  }

  /**
   * Writes a chunk's file in full from its segments, in order (replacing a leftover of this same
   * upload), before its first await (the caller may reuse the segments after), then starts its sync
   * in the thread pool without waiting for it; waits while too many syncs are under way. The
   * write itself is synchronous, like SQLite's: it only fills the page cache, which costs less
   * than two trips through the thread pool.
   */
  async write(path: string, segments: readonly Uint8Array[]): Promise<void> {
    for (const created of this.#files.ensureDirectoryOf(path)) {
      this.#dirtyDirectories.add(dirname(created));
      this.#dirtyDirectories.add(created);
    }
    this.#dirtyDirectories.add(dirname(path));
    const fd = createFile(path);
    try {
      for (const bytes of segments) {
        for (let written = 0; written < bytes.length; ) {
          written += writeSync(fd, bytes, written, bytes.length - written);
        }
      }
    } catch (error) {
      closeSync(fd);
      throw fileError("write a chunk file", path, error);
    }
    if (!this.#durable) {
      closeSync(fd);
      return;
    }
    const sync = new Promise<void>((resolve) =>
      fsync(fd, (error) => {
        closeSync(fd);
        if (error) this.#failure ??= fileError("sync a chunk file", path, error);
        resolve();
      }),
    );
    this.#syncing.add(sync);
    void sync.then(() => this.#syncing.delete(sync));
    while (this.#syncing.size >= SYNCS_IN_FLIGHT) await Promise.race(this.#syncing);
  }

  /** A chunk file another upload wrote, which this writer's blob lists: synced with the rest. */
  borrow(path: string): void {
    if (this.#durable) this.#borrowed.add(path);
  }

  /**
   * Waits for every sync started, then syncs the borrowed files and the directories that gained
   * entries (`fsync` on a directory makes its new entries durable). Throws the first failure.
   */
  async makeDurable(): Promise<void> {
    if (!this.#durable) return;
    await Promise.all(this.#syncing);
    if (this.#failure !== undefined) throw this.#failure;
    // In the thread pool, side by side: up to 256 directories, and the event loop serves others meanwhile.
    const borrowed = [...this.#borrowed].map((path) => syncPath(path, "sync a chunk file"));
    const directories = [...this.#dirtyDirectories].map((path) => syncPath(path, "sync the chunk directory"));
    this.#borrowed.clear();
    this.#dirtyDirectories.clear();
    await Promise.all([...borrowed, ...directories]);
  }

  /** Waits for the syncs under way (after a failure: nothing may be left running on the files). */
  async settle(): Promise<void> {
    await Promise.all(this.#syncing);
  }
}

/**
 * Creates a chunk file for writing, readable by its owner alone. A new file, not one truncated:
 * ext4 flushes a file truncated and rewritten as soon as it is closed. A leftover of this same
 * upload (a write that failed half-way) is replaced.
 */
function createFile(path: string): number {
  try {
    try {
      return openSync(path, "wx", 0o600);
    } catch (error) {
      if (codeOf(error) !== "EEXIST") throw error;
      unlinkSync(path);
      return openSync(path, "wx", 0o600);
    }
  } catch (error) {
    throw fileError("create a chunk file", path, error);
  }
}

/** Opens a file or directory read-only and syncs it in the thread pool. */
async function syncPath(path: string, action: string): Promise<void> {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    throw fileError(action, path, error);
  }
  try {
    await new Promise<void>((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
  } catch (error) {
    throw fileError(action, path, error);
  } finally {
    closeSync(fd);
  }
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | undefined)?.code;
}

/** A failed file call as a castore error: `TooLarge` when the disk is full (see storageError). */
function fileError(action: string, path: string, error: unknown): Error {
  return storageError(`castore-sqlite failed to ${action} ${path}`, error);
}
