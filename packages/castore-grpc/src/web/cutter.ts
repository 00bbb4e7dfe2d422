/** A cut point: the offset, from the start of the input, just past a chunk's last byte. */
export interface ChunkCut {
  readonly end: number;
}

/**
 * What cuts a blob into chunks as its bytes stream in: castore-core's FastCDC chunker has this
 * shape (`update` returns the cuts a piece made certain, `finish` the last one). A cut returned by
 * `update` is always followed by at least one more byte, so a blob that fits in one chunk is only
 * known to be one at `finish`.
 */
export interface ChunkCutter {
  update(bytes: Uint8Array): ChunkCut[];
  finish(): ChunkCut[];
}

/**
 * Chunks of a fixed size. A stand-in where content-defined chunking is unavailable: the chunk list
 * is as valid (any split works), only unchanged regions of an edited blob no longer deduplicate.
 */
export class FixedSizeCutter implements ChunkCutter {
  readonly #size: number;
  #offset = 0;
  #lastCut = 0;

  constructor(size: number) {
    this.#size = size;
  }

  update(bytes: Uint8Array): ChunkCut[] {
    this.#offset += bytes.length;
    const cuts: ChunkCut[] = [];
    // Cut only where a byte follows, so that the last chunk is always cut by finish().
    while (this.#offset - this.#lastCut > this.#size) {
      this.#lastCut += this.#size;
      cuts.push({ end: this.#lastCut });
    }
    return cuts;
  }

  finish(): ChunkCut[] {
    if (this.#offset === this.#lastCut) return [];
    this.#lastCut = this.#offset;
    return [{ end: this.#offset }];
  }
}
