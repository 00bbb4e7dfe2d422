import { chmodSync, closeSync, mkdirSync, openSync, readSync, unlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { codeOf, fileError } from "./file-calls.js";
import { PackWrites } from "./pack-writes.js";

/**
 * A writer starts a new pack once its current one holds this many bytes (at the end of a batch, so
 * a pack can be a batch longer). Measured here, writing 1 GiB of 256 KiB chunks as packs of 4 to
 * 64 MiB, each synced in the background as it filled, ran at 0.87 to 1.12 GB/s against 0.55 to
 * 0.58 for `dd conv=fsync` of the same bytes, and as a file per chunk at 0.37 to 0.77: creating a
 * file cost 0.03 to 0.4 ms (much more while earlier deletions are being discarded), and a sync
 * per file a journal commit. Small enough that a pack kept by one shared chunk wastes little.
 */
export const PACK_BYTES = 8 << 20;

/**
 * The bytes of chunks, in files in a directory beside the database file: SQLite's log would write
 * every byte twice (once to the log, once when the log is folded back into the file), a file once.
 * - Packs (`blobs.sqlite-chunks/packs/N.P`): pack P of upload N holds the new chunks that upload
 *   wrote, one after another, about PACK_BYTES each; each chunk's row names its pack and offset.
 *   Every chunk stored since schema version 6 is in a pack.
 * - A file per chunk (`blobs.sqlite-chunks/HH/HEX.N`), written by versions 4 and 5: HEX is the
 *   chunk digest in lowercase hex, HH its first byte, N the upload that wrote it. Read and deleted
 *   as before; never written any more.
 * Two uploads never share a name, so a file deleted for rows that are gone can never be one a
 * newer row names.
 *
 * The `chunks` row is the truth: bytes count only while a row names them, and a row is committed
 * only after its bytes are written (and, before the blob that lists it commits, synced). A pack is
 * declared (its `packs` row committed) before it is created, and deleted once its upload is over
 * and no row names it (see Statements). Files are created readable by their owner alone (0600, in
 * directories of 0700), like the database file.
 */
export class ChunkFiles {
  /** The directory of chunk files. */
  readonly root: string;
  /** A writer starts a new pack once its current one holds this many bytes. */
  readonly packBytes: number;
  /** Directories known to exist (created or found by this process). */
  readonly #directories = new Set<string>();

  /**
   * @param databaseFile the store's database file; the chunk files go in `<databaseFile>-chunks`
   * @param packBytes see PACK_BYTES (the default)
   */
  constructor(databaseFile: string, packBytes = PACK_BYTES) {
    this.root = `${databaseFile}-chunks`;
    this.packBytes = packBytes;
  }

  /** Where the file of its own of chunk `digest`, written by upload `upload`, lives (versions 4 and 5). */
  path(digest: Uint8Array, upload: number): string {
    const hex = Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString("hex");
    return join(this.root, hex.slice(0, 2), `${hex}.${upload}`);
  }

  /** The directory of packs. */
  get packDirectory(): string {
    return join(this.root, "packs");
  }

  /** Where pack `pack` of upload `upload` lives. */
  packPath(upload: number, pack: number): string {
    return join(this.packDirectory, `${upload}.${pack}`);
  }

  /** The file that holds the chunk `digest` at `location`. */
  pathOf(digest: Uint8Array, location: ChunkFileLocation): string {
    return location.pack === null ? this.path(digest, location.upload) : this.packPath(location.upload, location.pack);
  }

  /**
   * A chunk's bytes from where its row says they are, or undefined when that file does not exist
   * (deleted since the row was read). `size` is the chunk's length as listed: bytes missing from a
   * pack come back short, and a file of its own of any other length comes back as it is (at most
   * one byte more), for the reader's check to refuse. Synchronous, as SQLite's own reads are: for
   * a chunk read as a blob, and chunks in files of their own. A chunked blob's reader reads packs
   * in worker threads instead (see reader.ts).
   */
  readAt(digest: Uint8Array, location: ChunkFileLocation, size: number): Buffer | undefined {
    const path = this.pathOf(digest, location);
    // A file of its own is read one byte further than listed: a longer file shows as one.
    return location.pack === null ? this.#readRange(path, 0, size + 1) : this.#readRange(path, location.offset, size);
  }

  /** `length` bytes of `path` from `offset` (fewer if the file ends first); undefined when it does not exist. */
  #readRange(path: string, offset: number, length: number): Buffer | undefined {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (error) {
      if (codeOf(error) === "ENOENT") return undefined;
      throw fileError("open the chunk file", path, error);
    }
    try {
      const bytes = Buffer.allocUnsafe(length);
      let got = 0;
      for (let last = -1; last !== 0 && got < length; got += last) {
        last = readSync(fd, bytes, got, length - got, offset + got);
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

  /** Starts the packs of one writer, made durable together before its blob commits. */
  openWrites(durable: boolean): PackWrites {
    return new PackWrites(this, durable);
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

/** Where a chunk's bytes are on disk (a chunk row with a file). */
export interface ChunkFileLocation {
  /** The upload that wrote them. */
  readonly upload: number;
  /** The pack of that upload that holds them; null for a file of the chunk's own (versions 4 and 5). */
  readonly pack: number | null;
  /** Where in the pack they start (0 in a file of its own). */
  readonly offset: number;
}
