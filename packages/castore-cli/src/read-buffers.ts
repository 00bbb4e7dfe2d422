/**
 * Buffers for reading a blob into (see ReadOptions.into), used again once whoever holds one gives it
 * back: a bulk read then moves its bytes through a few buffers instead of fresh memory per chunk,
 * whose page faults and collections cost about as much as reading and verifying the bytes.
 */
export class ReadBuffers {
  readonly #size: number;
  readonly #spare: Uint8Array[] = [];

  /** @param size the length of each buffer (a read returns at most this many bytes) */
  constructor(size: number) {
    this.#size = size;
  }

  /** A buffer nobody holds. */
  take(): Uint8Array {
    return this.#spare.pop() ?? Buffer.allocUnsafeSlow(this.#size);
  }

  /** Hands a buffer back: nothing may read or write it any more. A few are kept, the rest dropped. */
  give(buffer: Uint8Array): void {
    if (this.#spare.length < 4) this.#spare.push(buffer);
  }
}
