import { type B3Digest, BaseBlobReader, type Blake3Hasher, IntegrityError } from "castore-core";
import { hashChunk, sameBytes } from "./hashing.js";
import { sqliteCall } from "./sqlite-errors.js";
import type { BlobMeta } from "./statements.js";
import type { Store } from "./store.js";

/** A chunk loaded and verified, kept while the reader is inside it. */
interface LoadedChunk {
  readonly index: number;
  readonly bytes: Uint8Array;
}

/**
 * A seekable reader over a stored blob. It loads one chunk row at a time and verifies it before
 * handing out any of its bytes, so a seek anywhere (backwards, from the end) costs one chunk:
 * - an inline blob (at most one chunk) is checked against the blob digest itself;
 * - a chunked blob's chunks are checked against their stored hashes, and while the chunks are
 *   loaded in order from the first, a running hash of the whole blob is checked against the
 *   digest when the last chunk loads, before any byte of it is handed out. So a full read never
 *   ends cleanly on bytes that do not hash to the digest, even if a chunk and its stored hash were
 *   both rewritten.
 */
export class SqliteBlobReader extends BaseBlobReader {
  readonly size: number;
  readonly seekable = true;
  readonly #store: Store;
  readonly #meta: BlobMeta;
  #chunk: LoadedChunk | undefined;
  /** Hash of chunks 0..#hashedChunks-1 while they were loaded in order; dropped on a jump. */
  #blobHasher: Blake3Hasher | undefined;
  #hashedChunks = 0;

  constructor(store: Store, digest: B3Digest, meta: BlobMeta) {
    super(digest);
    this.#store = store;
    this.#meta = meta;
    this.size = meta.size;
  }

  protected async readChunk(maxBytes: number): Promise<Uint8Array | undefined> {
    const position = this.position;
    if (position >= this.size) {
      // An empty blob has no bytes to check, but its row could still be a damaged one.
      if (this.size === 0) this.#verifyEmpty();
      return undefined;
    }
    const { chunkSize } = this.#meta;
    const index = Math.floor(position / chunkSize);
    const chunk = this.#chunk?.index === index ? this.#chunk : this.#load(index);
    const start = position - index * chunkSize;
    const end = Math.min(chunk.bytes.length, start + maxBytes);
    if (end < chunk.bytes.length) {
      // Part of the chunk: hand out a copy, so the caller cannot change what we hand out later.
      this.#chunk = chunk;
      return chunk.bytes.slice(start, end);
    }
    // The rest of the chunk: hand over our bytes and forget them (a seek back loads them again).
    this.#chunk = undefined;
    return chunk.bytes.subarray(start, end);
  }

  protected async seekTo(): Promise<void> {}

  protected override release(): void {
    this.#chunk = undefined;
    this.#dropBlobHasher();
  }

  /** Loads chunk `index` and verifies it; throws `Integrity` for a missing, short or altered chunk. */
  #load(index: number): LoadedChunk {
    const { content, chunkSize, size } = this.#meta;
    const expectedLength = Math.min(chunkSize, size - index * chunkSize);
    if (content === null) {
      const data = sqliteCall("read a blob", () => this.#store.statements.inlineData(this.digest.unsafeBytes));
      if (!data || data.length !== expectedLength || !this.digest.equals(hashChunk(this.#store.blake3, data))) {
        throw new IntegrityError(`blob ${this.digest} is corrupt: its stored bytes do not hash to its digest`);
      }
      return { index, bytes: asUint8Array(data) };
    }
    const row = sqliteCall("read a chunk", () => this.#store.statements.chunk(content, index));
    if (!row) throw this.#corrupt(index, "its row is missing");
    const [hash, data] = row;
    if (data.length !== expectedLength)
      throw this.#corrupt(index, `it holds ${data.length} bytes, not ${expectedLength}`);
    if (!sameBytes(hashChunk(this.#store.blake3, data), hash))
      throw this.#corrupt(index, "its bytes do not match its hash");
    this.#hashInOrder(index, data);
    return { index, bytes: asUint8Array(data) };
  }

  /** Feeds the whole-blob hash while chunks come in order from the first; checks it at the last. */
  #hashInOrder(index: number, data: Uint8Array): void {
    if (index === 0) {
      this.#dropBlobHasher();
      this.#blobHasher = this.#store.blake3.createHasher();
    } else if (index !== this.#hashedChunks || !this.#blobHasher) {
      this.#dropBlobHasher();
      return;
    }
    const hasher = this.#blobHasher as Blake3Hasher;
    hasher.update(data);
    this.#hashedChunks = index + 1;
    if (this.#hashedChunks * this.#meta.chunkSize < this.size) return;
    this.#blobHasher = undefined;
    if (!this.digest.equals(hasher.digest())) {
      throw new IntegrityError(
        `blob ${this.digest} is corrupt: its chunks each match their stored hashes, but together they do not hash to its digest`,
      );
    }
  }

  #verifyEmpty(): void {
    if (!this.digest.equals(hashChunk(this.#store.blake3, new Uint8Array(0)))) {
      throw new IntegrityError(`blob ${this.digest} is corrupt: it is stored as empty, which is not what it hashes to`);
    }
  }

  #dropBlobHasher(): void {
    this.#blobHasher?.dispose();
    this.#blobHasher = undefined;
    this.#hashedChunks = 0;
  }

  #corrupt(index: number, why: string): IntegrityError {
    return new IntegrityError(`blob ${this.digest} is corrupt: chunk ${index} of ${this.#chunkCount()} fails, ${why}`);
  }

  #chunkCount(): number {
    return Math.ceil(this.size / this.#meta.chunkSize);
  }
}

/** better-sqlite3 returns Buffers; callers get plain Uint8Array views of the same memory. */
function asUint8Array(data: Buffer): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
