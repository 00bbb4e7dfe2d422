import { copyBytes, isDetached, isShared } from "../bytes.js";
import { type ChunkMeta, validateChunkList } from "../chunking/chunk-list.js";
import { B3Digest } from "../digest.js";
import { BackendError, IntegrityError } from "../errors.js";
import type { Blake3Implementation } from "../hashing/blake3.js";
import { blake3, createStreamHasher, digestWith } from "../hashing/hash.js";
import type { StreamHasher } from "../hashing/stream-hasher.js";
import { checkInteger } from "../integers.js";
import { raceAbort, throwIfAborted } from "../signal.js";
import { BaseBlobReader } from "./base-reader.js";
import { BlobStreamChunks, type OpenBlobStream } from "./blob-stream-chunks.js";
import { DigestedBytes } from "./digested-bytes.js";
import { pieceIndexAt } from "./piece-index.js";

/**
 * A chunk's bytes as a store hands them over: one array, ordered segments, a stream, or bytes
 * castore-core read and hashed in a worker thread (see `readFileChunk` in `castore-core/node`).
 */
export type ChunkBytes = Uint8Array | readonly Uint8Array[] | AsyncIterable<Uint8Array> | DigestedBytes;

export interface ChunkedReaderOptions {
  /**
   * Fetches the bytes of one chunk of the list (`undefined` when the store does not have it, which
   * the reader reports as an `Integrity` error: the blob is incomplete). The signal fires when the
   * reader no longer needs the chunk (it was closed, or moved away from a prefetched chunk).
   * `into` is given with `chunkBuffers` (see there).
   */
  openChunk(chunk: ChunkMeta, signal: AbortSignal, into?: Uint8Array): Promise<ChunkBytes | undefined>;
  /**
   * Lend `openChunk` a buffer for each chunk, `into`, exactly the chunk's size: a store that reads
   * the chunk there (from a file, say) returns a view of it, and the reader uses that buffer again
   * for a later chunk once it has copied the bytes out. A bulk read with `into` (see ReadOptions)
   * then moves its bytes through a few buffers instead of fresh memory per chunk, whose page faults
   * and collections cost more than reading and hashing it. `true` lends plain arrays; a function
   * allocates each buffer (of the given size), for memory of a particular kind, such as the memory
   * `readFileChunk` (`castore-core/node`) moves to a worker thread and back (`movableChunkBuffer`).
   *
   * The store may still return memory of its own (which must then be fresh, as with `ownsChunks`).
   * It must not touch `into` once its promise has settled, so it settles a fetch only once no write
   * into `into` is pending, even after the signal fired.
   *
   * The store may also move the buffer's memory to another thread and back (as `readFileChunk`
   * does with `movableChunkBuffer`'s buffers), which detaches `into`: its answer, a view of the
   * memory that came back, at the offset `into` had, counts as in the lent buffer, and the reader
   * lends that memory from then on. A buffer moved but not answered in (its thread failed) is
   * dropped.
   */
  chunkBuffers?: boolean | ((size: number) => Uint8Array) | undefined;
  /**
   * Opens one stream of the whole blob (see `OpenBlobStream`). Given, a read from offset 0 takes its
   * chunks from that stream, cut at the chunk boundaries and each verified as if fetched on its own,
   * instead of fetching them one by one: for stores where a fetch is a round trip. A seek ends the
   * stream (what it already delivers is still used); later chunks come from `openChunk`, and a seek
   * back to 0 opens a new stream.
   */
  openBlobStream?: OpenBlobStream | undefined;
  /**
   * The most chunk fetches in flight at once (the one being read counts). Default 4.
   */
  window?: number | undefined;
  /**
   * How many chunks past the one being read the reader may hold, fetched or still being fetched,
   * while reading sequentially. Memory stays below (readAhead + 1) × the largest chunk. Default
   * `window − 1`: every chunk held is being fetched or the one being read. A larger value keeps
   * `window` fetches going while the reader waits for a slow one, or while the consumer catches
   * up: a fetch that finishes makes room for the next at once, whoever reads it.
   */
  readAhead?: number | undefined;
  /**
   * Hand out views of the fetched chunk instead of copies. Only for stores whose `openChunk` returns
   * fresh arrays: with views, a caller writing into a returned array would write into them.
   */
  handOutViews?: boolean | undefined;
  /**
   * `openChunk` returns fresh arrays that are the reader's alone (rows a database driver just copied
   * out, say). The reader then hands out the last piece it reads of each chunk (the whole chunk, in
   * a sequential read) as a view rather than a copy, and lets go of that chunk: a caller writing
   * into what it got can change nothing the reader reads later, as a read that comes back to the
   * chunk fetches it again. Other pieces are copies, as without the option.
   */
  ownsChunks?: boolean | undefined;
  /**
   * The store has proven that `chunks` is the list its write proved to hash to the blob: say, by a
   * seal it kept beside the list and checked just now (see ChunkListSealer). A full read then does
   * not hash everything it hands out a second time against the blob digest; every chunk is still
   * checked against its own digest. Leave it unset for a list the store cannot vouch for (one from
   * a peer, or stored without a seal).
   */
  chunkListProven?: boolean | undefined;
  /** Called once when the reader is closed. */
  onClose?: (() => Promise<void> | void) | undefined;
}

/**
 * What an open reader's chunk list costs a chunk, about: measured in a heap snapshot of a daemon
 * with SQLite readers open, 380–410 bytes a chunk (the digest, its bytes, the entry, its offset,
 * where the store found it), so 1.6 MB for a GiB of 256 KiB chunks.
 */
const LIST_BYTES_PER_CHUNK = 400;

/**
 * A verified chunk as held: the pieces it arrived in (not joined: joining cost a copy and a fresh
 * allocation of every byte a remote read receives) and the offset of each in the chunk.
 */
interface HeldChunk {
  readonly pieces: readonly Uint8Array[];
  readonly starts: readonly number[];
}

/** The buffer lent to the store for a chunk (see `chunkBuffers`), while the reader may still reuse it. */
interface LentBuffer {
  /** Replaced by the same memory when the store moved it to another thread and back. */
  buffer: Uint8Array | undefined;
}

interface ChunkLoad extends LentBuffer {
  readonly bytes: Promise<HeldChunk>;
  readonly controller: AbortController;
  /** Set once `bytes` settled: the store is done with the signal, so dropping the load need not fire it. */
  settled: boolean;
  /** Set once the reader no longer holds the chunk: its buffer is free once the fetch has settled too. */
  dropped: boolean;
}

/**
 * A random-access reader over a chunked blob: a list of chunks, each a blob of its own, whose
 * concatenation is the blob. Seeks (from the start, the current position or the end) find the chunk
 * by binary search over the chunk offsets and fetch nothing until the next read.
 *
 * Trust model. Every chunk is hashed when fetched and compared with its digest in the list before
 * any of its bytes is handed out, so a range read is proven against the chunk digests: the bytes
 * returned are the bytes the list names, or the read fails with an `Integrity` error. The list itself
 * is proven only by reading the whole blob: a full sequential read from offset 0 additionally hashes
 * everything it hands out and, before reporting the clean end, compares that with the blob digest
 * (`Integrity` error on a mismatch). A reader that seeks has no such proof for the list, only for
 * the chunks: trust a range read as far as you trust where the chunk list came from (a local store's
 * own table, or a list already proven by a full read). A store that proves the list itself before
 * opening the reader (`chunkListProven`) spares the full read that second hash.
 *
 * While reads move through the blob in order it fetches the next chunks ahead (see `window`); a seek
 * stops that until reading crosses into the next chunk again, so random reads fetch only what they
 * touch. A failed chunk fails only the reads that reach it (and, as with every reader, the reader
 * stays failed afterwards: open a new one to read elsewhere).
 */
export class ChunkedReader extends BaseBlobReader {
  readonly size: number;
  readonly seekable = true;
  readonly #chunks: readonly ChunkMeta[];
  /** Offset in the blob of each chunk's first byte. */
  readonly #starts: number[];
  readonly #openChunk: ChunkedReaderOptions["openChunk"];
  readonly #window: number;
  readonly #readAhead: number;
  /** Fetches started and not yet settled (those dropped from #loads included). */
  #inFlight = 0;
  readonly #handOutViews: boolean;
  readonly #ownsChunks: boolean;
  /** Allocates the buffers lent to `openChunk`; undefined when none are lent (see `chunkBuffers`). */
  readonly #allocateBuffer: ((size: number) => Uint8Array) | undefined;
  /** Buffers lent to earlier chunks and free again (see `chunkBuffers`), each #bufferSize long. */
  readonly #spareBuffers: Uint8Array[] = [];
  /** The largest chunk's size: every lent buffer fits any chunk of the list. */
  readonly #bufferSize: number;
  readonly #onClose: ChunkedReaderOptions["onClose"];
  readonly #chunkListProven: boolean;
  readonly #openBlobStream: OpenBlobStream | undefined;
  /** Where a read from offset 0 takes its chunks from, while it stays sequential. */
  #blobStream: BlobStreamChunks | undefined;
  readonly #loads = new Map<number, ChunkLoad>();
  #blake3: Blake3Implementation | undefined;
  /** Index of the chunk the last read came from (-1 before the first read). */
  #lastIndex = -1;
  /** Whether the read that entered chunk #lastIndex began at the chunk's first byte. */
  #lastEnteredAtStart = true;
  /** True while reads go forward without seeks: prefetch is worth it. */
  #sequential = true;
  /** Hashes the bytes handed out since offset 0, while they are contiguous. */
  #blobHasher: StreamHasher | undefined;
  #hashedUpTo = 0;
  /** Set once a full read passed the blob check (a repeated read at the end does not redo it). */
  #verifiedEnd = false;

  /**
   * @param digest the blob's digest
   * @param size the blob's length; the chunk sizes must add up to it
   * @param chunks the chunk list, in order (`InvalidDigest` / `InvalidArgument` errors when malformed;
   *   an empty list only for an empty blob)
   */
  constructor(digest: B3Digest, size: number, chunks: readonly ChunkMeta[], options: ChunkedReaderOptions) {
    super(digest);
    checkInteger("blob size", size, 0);
    this.#chunks = validateChunkList(chunks, size);
    const window = checkInteger("window", options.window ?? 4);
    this.size = size;
    this.#window = window;
    this.#readAhead = checkInteger("readAhead", options.readAhead ?? window - 1, 0);
    this.#openChunk = options.openChunk;
    this.#handOutViews = options.handOutViews ?? false;
    this.#ownsChunks = options.ownsChunks ?? false;
    const chunkBuffers = options.chunkBuffers ?? false;
    this.#allocateBuffer =
      typeof chunkBuffers === "function" ? chunkBuffers : chunkBuffers ? (size) => new Uint8Array(size) : undefined;
    this.#onClose = options.onClose;
    this.#chunkListProven = options.chunkListProven ?? false;
    this.#openBlobStream = options.openBlobStream;
    this.#blobStream = this.#newBlobStream();
    this.#starts = [];
    let start = 0;
    let largest = 0;
    for (const chunk of this.#chunks) {
      this.#starts.push(start);
      start += chunk.size;
      largest = Math.max(largest, chunk.size);
    }
    this.#bufferSize = largest;
  }

  /**
   * The chunks it holds while reading in order (the one being read and `readAhead` more, each at
   * most the largest chunk of the list, which is the size of a lent buffer) and the list itself.
   */
  get maxHeldBytes(): number {
    const chunks = Math.min(this.#readAhead + 1, this.#chunks.length) * this.#bufferSize;
    return chunks + this.#chunks.length * LIST_BYTES_PER_CHUNK;
  }

  /** The validated chunk list this reader serves. */
  get chunks(): readonly ChunkMeta[] {
    return this.#chunks;
  }

  protected async readChunk(
    maxBytes: number,
    signal: AbortSignal | undefined,
    into: Uint8Array | undefined,
  ): Promise<Uint8Array | undefined> {
    this.#blake3 ??= await blake3();
    const position = this.position;
    if (position >= this.size) {
      if (position === this.size) await this.#verifyWholeBlob();
      return undefined;
    }
    const index = pieceIndexAt(this.#starts, position);
    if (index !== this.#lastIndex) {
      // Reading crossed into the next chunk at its start, after reading the previous one from its
      // start: a sequential run, worth fetching ahead. A short range that merely straddles a
      // boundary after a seek is not one, and fetches only the two chunks it touches.
      const enteredAtStart = position === this.#starts[index];
      if (index === this.#lastIndex + 1 && enteredAtStart && this.#lastEnteredAtStart) this.#sequential = true;
      this.#lastEnteredAtStart = enteredAtStart;
    }
    this.#lastIndex = index;
    const load = this.#enterChunk(index);
    // A chunk already here (most reads in order) has nothing to race: no listener on the signal.
    const held = await (load.settled ? load.bytes : raceAbort(load.bytes, signal));
    const offset = position - (this.#starts[index] as number);
    // A read returns bytes of one piece at most (reads may return fewer bytes than asked for).
    const last = held.pieces.length - 1;
    const piece = last === 0 ? 0 : pieceIndexAt(held.starts, offset);
    const bytes = held.pieces[piece] as Uint8Array;
    const pieceOffset = offset - (held.starts[piece] as number);
    const length = Math.min(maxBytes, bytes.length - pieceOffset);
    const reachesEnd = piece === last && pieceOffset + length === bytes.length;
    // Bytes in a lent buffer are only ever copied out: the buffer serves later chunks (and may be
    // memory of a kind callers should not be handed, such as shared memory).
    const inLentBuffer = load.buffer !== undefined && bytes.buffer === load.buffer.buffer;
    let out: Uint8Array;
    if (into) {
      into.set(bytes.subarray(pieceOffset, pieceOffset + length));
      out = into.subarray(0, length);
    } else if (!inLentBuffer && (this.#handOutViews || (this.#ownsChunks && reachesEnd))) {
      out = bytes.subarray(pieceOffset, pieceOffset + length);
    } else {
      out = copyBytes(bytes, pieceOffset, pieceOffset + length);
    }
    // Past the last byte of a chunk the reader owns it lets go of it (a read that comes back fetches
    // it again): what it handed out as a view is the caller's, and a lent buffer serves the next chunk.
    if ((this.#ownsChunks || inLentBuffer) && reachesEnd) this.#drop(index);
    if (!this.#chunkListProven) {
      const hashing = this.#hashHandedOut(position, out);
      if (hashing) await hashing;
    }
    return out;
  }

  protected async seekTo(target: number): Promise<void> {
    this.#sequential = false;
    // The stream serves only reads in order from the start: a seek retires it, a seek to 0 starts over.
    this.#blobStream?.retire();
    this.#blobStream = target === 0 ? this.#newBlobStream() : undefined;
    // A full read restarts from 0; any other jump ends the proof of the whole blob.
    this.#dropBlobHasher();
    this.#verifiedEnd = false;
    if (target === 0) this.#lastIndex = -1;
    this.#lastEnteredAtStart = target === 0;
  }

  protected override async release(): Promise<void> {
    for (const index of [...this.#loads.keys()]) this.#drop(index);
    this.#spareBuffers.length = 0;
    this.#blobStream?.close();
    this.#dropBlobHasher();
    await this.#onClose?.();
  }

  /** Makes `index` the current chunk: drops what lies outside its read-ahead, starts fetches ahead. */
  #enterChunk(index: number): ChunkLoad {
    const last = this.#lastAhead(index);
    for (const loaded of [...this.#loads.keys()]) {
      if (loaded < index || loaded > last) this.#drop(loaded);
    }
    // The chunk being read is fetched whatever else is in flight.
    this.#load(index);
    this.#fetchAhead();
    return this.#loads.get(index) as ChunkLoad;
  }

  /**
   * Lets go of a chunk. A fetch still pending is told it is no longer needed (a finished one is
   * just forgotten: firing its signal would only build an AbortError, with a stack, per chunk).
   */
  #drop(index: number): void {
    const load = this.#loads.get(index);
    if (!load) return;
    this.#loads.delete(index);
    load.dropped = true;
    if (!load.settled) load.controller.abort();
    this.#reclaimBuffer(load);
  }

  /** Takes back a dropped chunk's lent buffer once its fetch has settled (the store is done with it). */
  #reclaimBuffer(load: ChunkLoad): void {
    if (!load.buffer || !load.dropped || !load.settled || this.closed) return;
    // A buffer the store moved away and never answered in has no memory left to lend.
    if (!isDetached(load.buffer)) this.#spareBuffers.push(load.buffer);
    load.buffer = undefined;
  }

  /** The last chunk that may be held while `index` is read. */
  #lastAhead(index: number): number {
    return Math.min(this.#chunks.length - 1, index + (this.#sequential ? this.#readAhead : 0));
  }

  /**
   * Starts fetches for the chunks after the current one, in order, while fewer than `window` are
   * in flight. Runs on entering a chunk and whenever a fetch finishes, so the reader keeps its
   * fetches going while its consumer works through what has arrived.
   */
  #fetchAhead(): void {
    const index = this.#lastIndex;
    if (this.closed || index < 0) return;
    const last = this.#lastAhead(index);
    for (let next = index + 1; next <= last && this.#inFlight < this.#window; next++) this.#load(next);
  }

  #load(index: number): void {
    if (this.#loads.has(index)) return;
    const controller = new AbortController();
    const lent: LentBuffer = {
      buffer: this.#allocateBuffer && (this.#spareBuffers.pop() ?? this.#allocateBuffer(this.#bufferSize)),
    };
    const bytes = this.#fetchVerified(index, controller.signal, lent);
    const load: ChunkLoad = Object.assign(lent, { bytes, controller, settled: false, dropped: false });
    this.#inFlight++;
    const settle = () => {
      load.settled = true;
      this.#inFlight--;
      this.#reclaimBuffer(load);
      this.#fetchAhead();
    };
    bytes.then(settle, settle); // also: a prefetch nobody reads must not be an unhandled rejection
    this.#loads.set(index, load);
  }

  /**
   * The chunk's bytes, checked against its size and digest; `lent.buffer` is lent to the store (see
   * `chunkBuffers`), and replaced by the same memory if the store moved it away and back.
   */
  async #fetchVerified(index: number, signal: AbortSignal, lent: LentBuffer): Promise<HeldChunk> {
    const chunk = this.#chunks[index] as ChunkMeta;
    const fromStream = this.#blobStream?.take(index, chunk.size, signal);
    let buffer = lent.buffer;
    // Where the buffer lies in its memory, kept: a buffer the store moves away reports nothing after.
    const shape = buffer && { byteOffset: buffer.byteOffset, length: buffer.length, memory: buffer.buffer.byteLength };
    const source = await (fromStream ?? this.#openChunk(chunk, signal, buffer?.subarray(0, chunk.size)));
    if (source === undefined) {
      throw new IntegrityError(`blob ${this.digest} is incomplete: its chunk ${chunk.digest} is missing`);
    }
    let held: HeldChunk;
    let digest: Uint8Array | B3Digest | undefined;
    if (DigestedBytes.is(source)) {
      const movedBack = buffer && shape && isDetached(buffer) ? sameMemoryBack(source.bytes, shape) : undefined;
      if (movedBack) lent.buffer = buffer = movedBack;
      // A digest computed where the bytes were read counts only for bytes in the buffer lent for them.
      if (!buffer || !isViewOf(source.bytes, buffer)) {
        throw new BackendError(`the store answered chunk ${chunk.digest} with bytes outside the buffer lent for it`);
      }
      held = { pieces: [source.bytes], starts: [0] };
      digest = source.digest;
    } else {
      held = await collectChunk(source, chunk, signal);
    }
    const length = held.pieces.reduce((sum, piece) => sum + piece.length, 0);
    digest ??= digestOfPieces(this.#blake3 as Blake3Implementation, held.pieces);
    if (length !== chunk.size || !chunk.digest.equals(digest)) {
      throw new IntegrityError(
        `chunk ${chunk.digest} of blob ${this.digest} is corrupt: its ${length} bytes do not hash to its digest`,
      );
    }
    return held;
  }

  #newBlobStream(): BlobStreamChunks | undefined {
    const open = this.#openBlobStream;
    return open && new BlobStreamChunks(this.digest, this.#chunks.length, open);
  }

  /** Hashes bytes handed out, while they follow on from offset 0; a promise when it must wait. */
  #hashHandedOut(position: number, bytes: Uint8Array): Promise<void> | undefined {
    if (position === 0 && !this.#blobHasher) return this.#startBlobHash(bytes);
    if (!this.#blobHasher) return undefined;
    if (position !== this.#hashedUpTo) {
      this.#dropBlobHasher();
      return undefined;
    }
    this.#hashedUpTo += bytes.length;
    return this.#blobHasher.update(bytes);
  }

  /** A full read begins: a stream hasher (on a thread of its own where a core is free, as it is long). */
  async #startBlobHash(bytes: Uint8Array): Promise<void> {
    this.#blobHasher = await createStreamHasher();
    this.#hashedUpTo = 0;
    await this.#hashHandedOut(0, bytes);
  }

  /** At the end of a read from offset 0: the bytes handed out must hash to the blob digest. */
  async #verifyWholeBlob(): Promise<void> {
    if (this.#verifiedEnd || this.#chunkListProven) return;
    if (this.size === 0 && !this.#blobHasher && this.position === 0) {
      this.#blobHasher = await createStreamHasher();
      this.#hashedUpTo = 0;
    }
    const hasher = this.#blobHasher;
    if (!hasher || this.#hashedUpTo !== this.size) return;
    this.#blobHasher = undefined;
    this.#hashedUpTo = 0;
    const matches = this.digest.equals(await hasher.digest());
    if (!matches) {
      throw new IntegrityError(
        `blob ${this.digest} is corrupt: its ${this.#chunks.length} chunks are intact but together do not hash to the blob digest (wrong chunk list)`,
      );
    }
    this.#verifiedEnd = true;
  }

  #dropBlobHasher(): void {
    this.#blobHasher?.dispose();
    this.#blobHasher = undefined;
    this.#hashedUpTo = 0;
  }
}

/**
 * The lent buffer again, in the memory that came back from another thread in its place (see
 * `chunkBuffers`): when `bytes` lie in ordinary memory of the size the lent buffer's had, from the
 * offset it had. Undefined otherwise.
 */
function sameMemoryBack(
  bytes: Uint8Array,
  lent: { readonly byteOffset: number; readonly length: number; readonly memory: number },
): Uint8Array | undefined {
  if (isShared(bytes) || isDetached(bytes) || bytes.buffer.byteLength !== lent.memory) return undefined;
  if (bytes.byteOffset !== lent.byteOffset) return undefined;
  return new Uint8Array(bytes.buffer, lent.byteOffset, lent.length);
}

/** Whether `bytes` starts where `buffer` starts, in its memory (a store's answer for a lent buffer). */
function isViewOf(bytes: Uint8Array, buffer: Uint8Array): boolean {
  return bytes.buffer === buffer.buffer && bytes.byteOffset === buffer.byteOffset && bytes.length <= buffer.length;
}

/** Gathers a chunk's pieces (empty ones dropped), refusing to hold more than the chunk's size. */
async function collectChunk(
  source: Exclude<ChunkBytes, DigestedBytes>,
  chunk: ChunkMeta,
  signal: AbortSignal,
): Promise<HeldChunk> {
  if (source instanceof Uint8Array) return { pieces: [source], starts: [0] };
  const pieces: Uint8Array[] = [];
  const starts: number[] = [];
  let total = 0;
  const add = (piece: Uint8Array) => {
    if (piece.length === 0) return;
    if (total + piece.length > chunk.size) {
      throw new IntegrityError(`chunk ${chunk.digest} is corrupt: the store holds more than its ${chunk.size} bytes`);
    }
    pieces.push(piece);
    starts.push(total);
    total += piece.length;
  };
  if (Array.isArray(source)) {
    for (const piece of source as readonly Uint8Array[]) add(piece);
  } else {
    if (typeof (source as Partial<AsyncIterable<Uint8Array>>)[Symbol.asyncIterator] !== "function") {
      throw new BackendError(`the store answered chunk ${chunk.digest} with something that is not bytes`);
    }
    for await (const piece of source as AsyncIterable<Uint8Array>) {
      throwIfAborted(signal);
      add(piece);
    }
  }
  return { pieces, starts };
}

/** The digest of a chunk's pieces, in order. */
function digestOfPieces(implementation: Blake3Implementation, pieces: readonly Uint8Array[]): B3Digest {
  if (pieces.length === 1) return digestWith(implementation, pieces[0] as Uint8Array);
  const hasher = implementation.createHasher();
  for (const piece of pieces) hasher.update(piece);
  return B3Digest.fromBytes(hasher.digest());
}
