import { B3Digest, BaseBlobReader, type Blake3Hasher, digestWith, IntegrityError } from "castore-core";
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
 * - chunks loaded in order from the first feed one running hash of the blob, checked after each
 *   chunk against the chunk's stored running digest and, at the last chunk, against the blob
 *   digest, before any byte of it is handed out: one running hash checks every chunk in its place and the
 *   whole blob, so a full read never ends cleanly on bytes that do not hash to the digest, even
 *   if chunks and their stored digests were all rewritten to match;
 * - every chunk is also checked against its own stored hash, the only check of a chunk reached by
 *   a jump (so a full read also proves the hashes ranged reads rely on).
 */
export class SqliteBlobReader extends BaseBlobReader {
  readonly size: number;
  readonly seekable = true;
  readonly #store: Store;
  readonly #meta: BlobMeta;
  #chunk: LoadedChunk | undefined;
  /** Hash of chunks 0..#hashedChunks-1 while they are loaded in order from the first; dropped on a jump. */
  #running: Blake3Hasher | undefined;
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
    this.#dropRunningHasher();
  }

  /** Loads chunk `index` and verifies it; throws `Integrity` for a missing, short or altered chunk. */
  #load(index: number): LoadedChunk {
    const { content, chunkSize, size } = this.#meta;
    const expectedLength = Math.min(chunkSize, size - index * chunkSize);
    if (content === null) {
      const data = sqliteCall("read a blob", () => this.#store.statements.inlineData(this.digest.unsafeBytes));
      if (!data || data.length !== expectedLength || !this.digest.equals(digestWith(this.#store.blake3, data))) {
        throw new IntegrityError(`blob ${this.digest} is corrupt: its stored bytes do not hash to its digest`);
      }
      return { index, bytes: asUint8Array(data) };
    }
    const row = sqliteCall("read a chunk", () => this.#store.statements.chunk(content, index));
    if (!row) throw this.#corrupt(index, "its row is missing");
    const [hash, running, data] = row;
    if (data.length !== expectedLength)
      throw this.#corrupt(index, `it holds ${data.length} bytes, not ${expectedLength}`);
    // Every read checks the chunk's own hash, a sequential one too: a damaged stored hash would
    // otherwise go unnoticed until some ranged read failed on good bytes.
    if (!digestWith(this.#store.blake3, data).equals(hash))
      throw this.#corrupt(index, "its bytes do not match its hash");
    const hasher = this.#runningHasherAt(index);
    if (hasher) {
      hasher.update(data);
      this.#hashedChunks = index + 1;
      const soFar = B3Digest.fromBytes(hasher.digestSoFar());
      if (!soFar.equals(running)) throw this.#corrupt(index, "the blob's bytes up to it do not match their digest");
      if (this.#hashedChunks === this.#chunkCount()) {
        this.#dropRunningHasher();
        if (!this.digest.equals(soFar)) {
          throw new IntegrityError(
            `blob ${this.digest} is corrupt: its chunks match their stored digests, but together they do not hash to its digest`,
          );
        }
      }
    }
    return { index, bytes: asUint8Array(data) };
  }

  /** The running hash, positioned just before chunk `index`, or undefined when the read jumped. */
  #runningHasherAt(index: number): Blake3Hasher | undefined {
    if (index === 0) {
      this.#dropRunningHasher();
      this.#running = this.#store.blake3.createHasher();
      return this.#running;
    }
    if (this.#running && index === this.#hashedChunks) return this.#running;
    this.#dropRunningHasher();
    return undefined;
  }

  #verifyEmpty(): void {
    if (!this.digest.equals(digestWith(this.#store.blake3, new Uint8Array(0)))) {
      throw new IntegrityError(`blob ${this.digest} is corrupt: it is stored as empty, which is not what it hashes to`);
    }
  }

  #dropRunningHasher(): void {
    this.#running?.dispose();
    this.#running = undefined;
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
