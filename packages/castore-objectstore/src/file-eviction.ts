import { setImmediate as nextTurn } from "node:timers/promises";
import { B3Digest, IntegrityError } from "castore-core";
import type { EvictionGuard } from "./eviction-guard.js";
import type { FileObjectStore } from "./file-store.js";
import { blobKey, chunkKey } from "./layout.js";
import { decodeChunkList } from "./stat-blob.js";

/** How often uses are written to the blob objects' modification times. */
const TICK_MS = 1_000;

/** A stored blob as the index knows it. */
interface BlobEntry {
  /** The chunk objects it needs: its chunks, or the blob itself for a one-piece blob. */
  readonly chunks: readonly string[];
  /** Size of its blob object (the chunk list). */
  readonly objectBytes: number;
}

/** Counts holders per digest. */
class Holds {
  readonly #counts = new Map<string, number>();

  add(hex: string): void {
    this.#counts.set(hex, (this.#counts.get(hex) ?? 0) + 1);
  }

  remove(hex: string): void {
    const count = (this.#counts.get(hex) ?? 1) - 1;
    if (count <= 0) this.#counts.delete(hex);
    else this.#counts.set(hex, count);
  }

  has(hex: string): boolean {
    return this.#counts.has(hex);
  }
}

/**
 * Keeps an `objectstore+file://` directory within `max_size` bytes of object files (compressed
 * chunks plus chunk lists) by deleting the least recently used blobs and then the chunk objects
 * no remaining blob lists, in the background, one object at a time.
 *
 * Recency lives in memory while the store is open (a Map in order of use: each use moves a blob
 * to its end) and survives restarts as the modification time of each blob object: a use (a read,
 * or a write of a blob already there) is written with utimes, batched once a second and at
 * close, never on the read's path. File access times are not used: `noatime`/`relatime` mounts
 * make them unreliable. Opening scans the directory once (reads every blob object, stats every
 * chunk object) to rebuild the index.
 *
 * Never deleted: a blob (or chunk read as a blob) an open reader of this process reads, nor the
 * chunks of a blob being read (they stay listed by it); the most recently used blob; a chunk or
 * blob a writer of this process holds (from before it looks for the object until its close or
 * abort has returned); a chunk that a stored blob lists. A blob object is deleted (durably)
 * before its chunks, so a crash leaves at worst chunk objects no blob lists, which the next open
 * finds and deletes when room is needed. One process at a time may use a bounded directory: the
 * index and the holds are this process's.
 */
export class FileEviction implements EvictionGuard {
  readonly maxSize: number;
  readonly #store: FileObjectStore;
  readonly #prefix: string;
  /** Stored blobs, least recently used first. */
  readonly #blobs = new Map<string, BlobEntry>();
  /** Blobs evicted since the store opened. */
  #evictions = 0;
  /** How many stored blobs list each chunk. */
  readonly #chunkRefs = new Map<string, number>();
  /** Size of each stored chunk object. */
  readonly #chunkBytes = new Map<string, number>();
  /** Stored chunks no blob lists: deleted first when room is needed (unless held). */
  readonly #unlisted = new Set<string>();
  readonly #readers = new Holds();
  readonly #writers = new Holds();
  /** Deletions under way, by object key. */
  readonly #deleting = new Map<string, Promise<void>>();
  /** Uses to write as blob objects' modification times: hex → ms. */
  readonly #touched = new Map<string, number>();
  #size = 0;
  #pass: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(store: FileObjectStore, prefix: string, maxSize: number) {
    this.#store = store;
    this.#prefix = prefix;
    this.maxSize = maxSize;
  }

  /** Scans the directory and starts keeping it within `maxSize` (at once, if it is over). */
  static async open(store: FileObjectStore, prefix: string, maxSize: number): Promise<FileEviction> {
    const eviction = new FileEviction(store, prefix, maxSize);
    await eviction.#scan();
    eviction.#timer = setInterval(() => void eviction.#flushUses().catch(() => {}), TICK_MS);
    eviction.#timer.unref();
    eviction.#noticeWrite();
    return eviction;
  }

  /** Bytes of object files stored, as the index counts them. */
  get storedSize(): number {
    return this.#size;
  }

  statistics(): { blobs: number; storedBytes: number; evictions: number } {
    return { blobs: this.#blobs.size, storedBytes: this.#size, evictions: this.#evictions };
  }

  async beginRead(digest: string): Promise<() => void> {
    for (;;) {
      const deletion =
        this.#deleting.get(blobKey(this.#prefix, B3Digest.from(digest))) ??
        this.#deleting.get(chunkKey(this.#prefix, B3Digest.from(digest)));
      if (!deletion) break;
      await deletion;
    }
    this.#readers.add(digest);
    this.#use(digest, true);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#readers.remove(digest);
    };
  }

  roomForWrite(): Promise<void> | undefined {
    return this.#size > this.maxSize ? this.#startPass() : undefined;
  }

  holdForWriter(digest: string): Promise<void> | undefined {
    this.#writers.add(digest);
    const parsed = B3Digest.from(digest);
    const blobDeletion = this.#deleting.get(blobKey(this.#prefix, parsed));
    const chunkDeletion = this.#deleting.get(chunkKey(this.#prefix, parsed));
    if (!blobDeletion && !chunkDeletion) return undefined;
    return Promise.all([blobDeletion, chunkDeletion]).then(() => {});
  }

  chunkStored(digest: string, bytes: number): void {
    if (this.#chunkBytes.has(digest)) return;
    this.#chunkBytes.set(digest, bytes);
    this.#size += bytes;
    if (!this.#chunkRefs.has(digest)) this.#unlisted.add(digest);
  }

  blobCommitted(digest: string, chunks: readonly string[], objectBytes: number, created: boolean): void {
    if (!created && this.#blobs.has(digest)) {
      this.#use(digest, true);
      return;
    }
    this.#addBlob(digest, { chunks: chunks.length === 0 ? [digest] : chunks, objectBytes });
    if (!created) this.#use(digest, true);
    this.#noticeWrite();
  }

  releaseWriter(held: readonly string[]): void {
    for (const digest of held) this.#writers.remove(digest);
  }

  /** Resolves once no pass is under way and the store is within its bound or nothing more may go. For tests. */
  async settle(): Promise<void> {
    while (this.#pass) await this.#pass;
    if (this.#size > this.maxSize) await this.#startPass();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    while (this.#pass) await this.#pass;
    await this.#flushUses().catch(() => {});
  }

  async #scan(): Promise<void> {
    const found: { digest: string; entry: BlobEntry; modifiedMs: number }[] = [];
    for await (const object of this.#store.objectsUnder("blobs")) {
      if (!/^[0-9a-f]{64}$/.test(object.name)) continue;
      const bytes = await this.#store.get(object.key);
      if (bytes === undefined) continue;
      let chunks: string[];
      try {
        chunks = decodeChunkList(bytes, object.key).map((chunk) => chunk.digest.toHex());
      } catch (error) {
        // A damaged chunk list: reads of that blob fail with Integrity; it is evicted like any other.
        if (!(error instanceof IntegrityError)) throw error;
        chunks = [];
      }
      if (chunks.length < 2) chunks = [object.name];
      found.push({ digest: object.name, entry: { chunks, objectBytes: object.size }, modifiedMs: object.modifiedMs });
    }
    // Least recently used first; the same time in digest order.
    found.sort((a, b) => a.modifiedMs - b.modifiedMs || (a.digest < b.digest ? -1 : 1));
    for (const { digest, entry } of found) this.#addBlob(digest, entry);
    for await (const object of this.#store.objectsUnder("chunks")) {
      if (/^[0-9a-f]{64}$/.test(object.name)) this.chunkStored(object.name, object.size);
    }
  }

  #addBlob(digest: string, entry: BlobEntry): void {
    if (this.#blobs.has(digest)) return;
    this.#blobs.set(digest, entry);
    this.#size += entry.objectBytes;
    for (const chunk of entry.chunks) {
      this.#chunkRefs.set(chunk, (this.#chunkRefs.get(chunk) ?? 0) + 1);
      this.#unlisted.delete(chunk);
    }
  }

  /** A use of a stored blob: it moves to the end of the order, and its object's time is updated later. */
  #use(digest: string, persist: boolean): void {
    const entry = this.#blobs.get(digest);
    if (!entry) return;
    this.#blobs.delete(digest);
    this.#blobs.set(digest, entry);
    if (persist) this.#touched.set(digest, Date.now());
  }

  async #flushUses(): Promise<void> {
    const uses = [...this.#touched];
    this.#touched.clear();
    for (const [digest, ms] of uses) {
      if (this.#blobs.has(digest)) await this.#store.setModified(blobKey(this.#prefix, B3Digest.from(digest)), ms);
    }
  }

  #noticeWrite(): void {
    if (this.#size > this.maxSize) void this.#startPass();
  }

  #startPass(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#pass ??= this.#run().finally(() => {
      this.#pass = undefined;
    });
    return this.#pass;
  }

  /** Deletes one object at a time until the store is within its bound or nothing more may go. */
  async #run(): Promise<void> {
    await nextTurn();
    while (!this.#closed && this.#size > this.maxSize) {
      try {
        const chunk = this.#deletableChunk();
        if (chunk !== undefined) {
          await this.#deleteChunk(chunk);
          continue;
        }
        const blob = this.#leastRecentlyUsed();
        if (blob === undefined) return;
        await this.#evictBlob(blob);
      } catch {
        // An I/O error: the next write or open tries again.
        return;
      }
    }
  }

  /** A stored chunk no blob lists, no reader and no writer holds. */
  #deletableChunk(): string | undefined {
    for (const chunk of this.#unlisted) {
      if (!this.#readers.has(chunk) && !this.#writers.has(chunk)) return chunk;
    }
    return undefined;
  }

  /** The least recently used blob no reader or writer holds, never the most recently used one. */
  #leastRecentlyUsed(): string | undefined {
    let remaining = this.#blobs.size;
    for (const digest of this.#blobs.keys()) {
      if (--remaining === 0) return undefined;
      if (!this.#readers.has(digest) && !this.#writers.has(digest)) return digest;
    }
    return undefined;
  }

  /** Takes a blob out of the index at once (its chunks become unlisted if no other blob lists them), then deletes its object. */
  async #evictBlob(digest: string): Promise<void> {
    const entry = this.#blobs.get(digest);
    if (!entry) return;
    this.#blobs.delete(digest);
    this.#evictions++;
    this.#touched.delete(digest);
    this.#size -= entry.objectBytes;
    for (const chunk of entry.chunks) {
      const refs = (this.#chunkRefs.get(chunk) ?? 1) - 1;
      if (refs > 0) {
        this.#chunkRefs.set(chunk, refs);
        continue;
      }
      this.#chunkRefs.delete(chunk);
      if (this.#chunkBytes.has(chunk)) this.#unlisted.add(chunk);
    }
    await this.#deleteObject(blobKey(this.#prefix, B3Digest.from(digest)));
  }

  async #deleteChunk(digest: string): Promise<void> {
    this.#unlisted.delete(digest);
    this.#size -= this.#chunkBytes.get(digest) ?? 0;
    this.#chunkBytes.delete(digest);
    await this.#deleteObject(chunkKey(this.#prefix, B3Digest.from(digest)));
  }

  async #deleteObject(key: string): Promise<void> {
    const deletion = this.#store.delete(key).finally(() => this.#deleting.delete(key));
    this.#deleting.set(key, deletion);
    await deletion;
  }
}
