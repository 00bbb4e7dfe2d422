import { copyBytes } from "../bytes.js";
import { B3Digest } from "../digest.js";
import type { Blake3Implementation } from "../hashing/blake3.js";
import { FastCdcChunker, type FastCdcOptions } from "./fastcdc.js";

/** A finished chunk: its digest, its length, and its bytes. */
export interface SplitChunk {
  readonly digest: B3Digest;
  readonly size: number;
  /**
   * The chunk's bytes, in order. Copies (nothing else holds them, and each holds only this chunk),
   * except with `borrow`, where the part that lies in the piece just pushed is a view of that piece.
   */
  readonly segments: readonly Uint8Array[];
}

export interface ChunkSplitterOptions {
  /**
   * Hand out the bytes of the piece being pushed as views of it instead of copies. For a consumer
   * that copies or sends each chunk before the caller may reuse that piece (a store that frames
   * every chunk into a buffer of its own at once): it saves one copy of most bytes. Bytes held
   * between pushes (the unfinished chunk) are still copies, since the caller reuses its pieces.
   */
  readonly borrow?: boolean | undefined;
}

/**
 * Cuts a stream into content-defined chunks (FastCDC 2020) and hands out each finished chunk with its
 * BLAKE3 digest, for stores that keep chunks by digest. Input bytes are copied exactly once, into
 * arrays that each belong to one chunk (no joining, no zero-filled buffer to copy into), so a chunk
 * that turns out to be stored already is dropped without pinning anyone else's memory. At most one
 * unfinished chunk (≤ maxSize bytes) is held between calls.
 */
export class ChunkSplitter {
  readonly #chunker: FastCdcChunker;
  readonly #blake3: Blake3Implementation;
  readonly #borrow: boolean;
  /** Copies of the bytes after the last cut, from offset #chunkStart. */
  #pending: Uint8Array[] = [];
  /** Offset of the first byte not yet in a finished chunk. */
  #chunkStart = 0;
  /** Offset of the first byte of the next piece. */
  #fed = 0;

  /** @param blake3 a loaded implementation (`await blake3()`), so splitting stays synchronous */
  constructor(options: FastCdcOptions, blake3: Blake3Implementation, { borrow = false }: ChunkSplitterOptions = {}) {
    this.#chunker = new FastCdcChunker(options);
    this.#blake3 = blake3;
    this.#borrow = borrow;
  }

  /**
   * Feeds the next piece (not kept: the caller may reuse it, once done with the returned chunks when
   * borrowing) and returns the chunks it finished.
   */
  push(bytes: Uint8Array): SplitChunk[] {
    const finished: SplitChunk[] = [];
    const pieceStart = this.#fed;
    let used = 0;
    for (const cut of this.#chunker.update(bytes)) {
      const endInPiece = cut.end - pieceStart;
      if (endInPiece <= 0) {
        // The cut falls before this piece (the chunker held back the previous piece's last byte).
        finished.push(this.#finishChunk(this.#splitPending(cut.end)));
        continue;
      }
      const segments = this.#pending;
      this.#pending = [];
      if (endInPiece > used) {
        segments.push(this.#borrow ? bytes.subarray(used, endInPiece) : copyBytes(bytes, used, endInPiece));
      }
      used = endInPiece;
      finished.push(this.#finishChunk(segments, cut.end));
    }
    if (used < bytes.length) this.#pending.push(copyBytes(bytes, used));
    this.#fed += bytes.length;
    return finished;
  }

  /** Ends the input and returns the last chunk, if any bytes are left. */
  finish(): SplitChunk[] {
    const finished: SplitChunk[] = [];
    for (const cut of this.#chunker.finish()) {
      const segments = this.#pending;
      this.#pending = [];
      finished.push(this.#finishChunk(segments, cut.end));
    }
    return finished;
  }

  /** Takes the pending bytes before `end` out of #pending; the rest (a byte or so) stays. */
  #splitPending(end: number): Uint8Array[] {
    const taken: Uint8Array[] = [];
    let offset = this.#chunkStart;
    while (offset < end) {
      const segment = this.#pending.shift() as Uint8Array;
      if (offset + segment.length <= end) {
        taken.push(segment);
        offset += segment.length;
      } else {
        const split = end - offset;
        taken.push(segment.subarray(0, split));
        this.#pending.unshift(copyBytes(segment, split)); // a copy: the rest must not pin this chunk's array
        offset = end;
      }
    }
    return taken;
  }

  #finishChunk(segments: Uint8Array[], end?: number): SplitChunk {
    const hasher = this.#blake3.createHasher();
    let size = 0;
    for (const segment of segments) {
      hasher.update(segment);
      size += segment.length;
    }
    this.#chunkStart = end ?? this.#chunkStart + size;
    return { digest: B3Digest.fromBytes(hasher.digest()), size, segments };
  }
}
