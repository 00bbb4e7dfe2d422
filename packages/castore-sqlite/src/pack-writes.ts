import { closeSync, fsync, write } from "node:fs";
import { dirname } from "node:path";
import { ReadBuffers } from "castore-core";
import type { ChunkFileLocation, ChunkFiles } from "./chunk-files.js";
import { createFile, fileError, syncPath } from "./file-calls.js";

/**
 * How many packs a writer syncs at once. The disk merges syncs that wait together: measured here
 * when each chunk had a file of its own, 1 GiB synced four files at a time as they were written
 * went as fast as `dd conv=fsync` of the same bytes, and one at a time at half that.
 */
const SYNCS_IN_FLIGHT = 4;

/**
 * The buffers a batch's new chunks are copied into, to be written to their pack from the thread
 * pool while the writer cuts and hashes the next batch. Large enough for any batch with default
 * chunking (see writer.ts: a batch ends once it holds 512 KiB, and no chunk is larger than that);
 * a larger batch gets a buffer of its own.
 */
const STAGE_BYTES = 1 << 20;
const stageBuffers = new ReadBuffers(STAGE_BYTES);

/** A batch's chunks, copied one after another, to be written at `at` in `pack`. */
interface Staged {
  readonly pack: OpenPack;
  readonly at: number;
  buffer: Uint8Array;
  giveBack: () => void;
  length: number;
}

/** The pack a writer is appending to. */
interface OpenPack {
  readonly index: number;
  readonly path: string;
  readonly fd: number;
  /** Bytes written to it so far: where the next chunk goes. */
  bytes: number;
}

/**
 * The packs one writer (one upload) creates: chunks appended in full before their rows may be
 * committed, each pack synced in the background once it is full (a few at a time), and all of
 * them, with the directories that gained entries and the files of other uploads the blob lists,
 * synced by {@link makeDurable} before the blob commits.
 *
 * A pack must be declared before it is created (see Statements.pinChunks): {@link packToDeclare}
 * says which, {@link declared} records that its row is committed.
 */
export class PackWrites {
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
  /** The pack being appended to, if any. */
  #pack: OpenPack | undefined;
  /** The current batch's appended bytes, not yet written (see append). */
  #staged: Staged | undefined;
  /** The index of the next pack to create. */
  #nextPack = 0;
  /** Whether pack #nextPack is declared (its row committed), so it may be created. */
  #nextDeclared = false;

  constructor(files: ChunkFiles, durable: boolean) {
    this.#files = files;
    this.#durable = durable;
  }

  /** How many packs this writer declared: indexes 0 to this less one (the last perhaps not created). */
  get packsDeclared(): number {
    return this.#nextPack + (this.#nextDeclared ? 1 : 0);
  }

  /**
   * The pack to declare with the next batch's pins, or undefined when chunks can go where earlier
   * ones went (the pack being appended to, or one declared but not created yet).
   */
  packToDeclare(): number | undefined {
    return this.#pack || this.#nextDeclared ? undefined : this.#nextPack;
  }

  /** Records that pack `index` (from packToDeclare) is declared: it may be created. */
  declared(index: number): void {
    if (index === this.#nextPack) this.#nextDeclared = true;
  }

  /**
   * Appends a chunk to upload `upload`'s current pack (creating the declared one if there is none)
   * and returns where it goes. Its segments are copied before this returns (the caller may reuse
   * them); the batch's bytes are written by {@link endBatch}, in one call from the thread pool, so
   * the caller cuts and hashes the next batch while the kernel copies this one into the page cache.
   * Measured on a 1 GiB put into /dev/shm, those kernel copies were 1.8 s of the daemon's 4 s on
   * its one thread when written synchronously here.
   */
  append(upload: number, segments: readonly Uint8Array[]): ChunkFileLocation {
    const pack = (this.#pack ??= this.#createPack(upload));
    const offset = pack.bytes;
    let size = 0;
    for (const bytes of segments) size += bytes.length;
    const staged = (this.#staged ??= { pack, at: offset, ...stageBuffers.take(), length: 0 });
    if (staged.length + size > staged.buffer.length) {
      const larger = new Uint8Array(Math.max(staged.length + size, 2 * staged.buffer.length));
      larger.set(staged.buffer.subarray(0, staged.length));
      staged.giveBack();
      staged.buffer = larger;
      staged.giveBack = () => {};
    }
    for (const bytes of segments) {
      staged.buffer.set(bytes, staged.length);
      staged.length += bytes.length;
    }
    pack.bytes = offset + size;
    return { upload, pack: pack.index, offset };
  }

  /** Writes the batch's appended bytes to their pack, at their position (see append). */
  async #writeStaged(): Promise<void> {
    const staged = this.#staged;
    if (!staged) return;
    this.#staged = undefined;
    const { pack, buffer, length } = staged;
    try {
      // At explicit positions: after a failed write, the next chunk still goes where its row says.
      for (let written = 0; written < length; ) {
        written += await new Promise<number>((resolve, reject) =>
          write(pack.fd, buffer, written, length - written, staged.at + written, (error, n) =>
            error ? reject(error) : resolve(n),
          ),
        );
      }
    } catch (error) {
      throw fileError("write a pack", pack.path, error);
    } finally {
      staged.giveBack();
    }
  }

  /**
   * Called after each batch's appends: a pack holding PACK_BYTES or more is finished (its sync
   * started in the thread pool), so the next batch starts a new one; waits while too many syncs
   * are under way.
   */
  async endBatch(): Promise<void> {
    await this.#writeStaged();
    if (!this.#pack || this.#pack.bytes < this.#files.packBytes) return;
    this.#finishPack();
    while (this.#syncing.size >= SYNCS_IN_FLIGHT) await Promise.race(this.#syncing);
  }

  /**
   * A pack (or chunk file) another upload wrote, which this writer's blob lists: synced with the
   * rest, and so is its directory (the other writer may have created it since its last sync).
   */
  borrow(path: string): void {
    if (!this.#durable) return;
    this.#borrowed.add(path);
    this.#dirtyDirectories.add(dirname(path));
  }

  /**
   * Finishes the current pack, waits for every sync started, then syncs the borrowed files and the
   * directories that gained entries (`fsync` on a directory makes its new entries durable). Throws
   * the first failure.
   */
  async makeDurable(): Promise<void> {
    this.#finishPack();
    if (!this.#durable) return;
    await Promise.all(this.#syncing);
    if (this.#failure !== undefined) throw this.#failure;
    // In the thread pool, side by side: a few directories, and the event loop serves others meanwhile.
    const borrowed = [...this.#borrowed].map((path) => syncPath(path, "sync a chunk file"));
    const directories = [...this.#dirtyDirectories].map((path) => syncPath(path, "sync the chunk directory"));
    this.#borrowed.clear();
    this.#dirtyDirectories.clear();
    await Promise.all([...borrowed, ...directories]);
  }

  /** Closes the current pack and waits for the syncs under way (after a failure: nothing may be left running on the files). */
  async settle(): Promise<void> {
    // Appended and never written (the batch failed before endBatch): nothing will write it now.
    this.#staged?.giveBack();
    this.#staged = undefined;
    if (this.#pack) {
      closeSync(this.#pack.fd);
      this.#pack = undefined;
    }
    await Promise.all(this.#syncing);
  }

  #createPack(upload: number): OpenPack {
    if (!this.#nextDeclared)
      throw new Error(`castore-sqlite: pack ${this.#nextPack} of upload ${upload} was not declared`);
    const index = this.#nextPack;
    const path = this.#files.packPath(upload, index);
    for (const created of this.#files.ensureDirectoryOf(path)) {
      this.#dirtyDirectories.add(dirname(created));
      this.#dirtyDirectories.add(created);
    }
    this.#dirtyDirectories.add(dirname(path));
    const fd = createFile(path);
    this.#nextPack = index + 1;
    this.#nextDeclared = false;
    return { index, path, fd, bytes: 0 };
  }

  /** Stops appending to the current pack: syncs it in the background (then closes it), or closes it. */
  #finishPack(): void {
    const pack = this.#pack;
    if (!pack) return;
    // endBatch writes a batch's bytes before a pack can be finished: these would go to a closed file.
    if (this.#staged) throw new Error("castore-sqlite: a pack was finished before its last batch was written");
    this.#pack = undefined;
    if (!this.#durable) {
      closeSync(pack.fd);
      return;
    }
    const sync = new Promise<void>((resolve) =>
      fsync(pack.fd, (error) => {
        closeSync(pack.fd);
        if (error) this.#failure ??= fileError("sync a pack", pack.path, error);
        resolve();
      }),
    );
    this.#syncing.add(sync);
    void sync.then(() => this.#syncing.delete(sync));
  }
}
