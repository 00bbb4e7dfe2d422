import { checkInteger } from "./integers.js";

/**
 * Buffers for reading blobs into (`read({ into })`), each used again once whoever holds it gives it
 * back. A bulk read that moves its bytes through a few buffers instead of fresh memory per chunk
 * spares the page faults and collections of that memory, which cost about as much as reading and
 * verifying the bytes. Give a buffer back only once nothing reads it any more: a buffer handed to a
 * stream, for one, is free once the stream's write callback has run.
 */
export class ReadBuffers {
  readonly #size: number;
  readonly #spare: Uint8Array[] = [];

  /** @param size the length of each buffer (a read into one returns at most this many bytes) */
  constructor(size: number) {
    this.#size = checkInteger("buffer size", size);
  }

  /** A buffer nobody holds, and the function that gives it back (once; later calls do nothing). */
  take(): { buffer: Uint8Array; giveBack: () => void } {
    const buffer = this.#spare.pop() ?? new Uint8Array(this.#size);
    let held = true;
    const giveBack = () => {
      if (!held) return;
      held = false;
      // A few are kept for the next reads; the rest go to the collector.
      if (this.#spare.length < 4) this.#spare.push(buffer);
    };
    return { buffer, giveBack };
  }
}
