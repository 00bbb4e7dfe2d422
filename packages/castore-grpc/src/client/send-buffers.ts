import { raceAbort } from "castore-core/backend";

/**
 * A few message-sized buffers for an upload, reused as HTTP/2 finishes sending them. With one
 * buffer the writer would wait for each message to leave before filling the next, and sender and
 * receiver would take turns; with several, the next message is ready while the previous one is
 * on its way. At most `count` buffers exist, which bounds the writer's memory.
 */
export class SendBuffers {
  readonly #size: number;
  readonly #count: number;
  readonly #free: Uint8Array[] = [];
  #allocated = 0;
  #waiters: Array<() => void> = [];

  constructor(size: number, count: number) {
    this.#size = size;
    this.#count = count;
  }

  /** A free buffer; waits while all of them are in flight. Resolves undefined after `wake()`. */
  async acquire(signal: AbortSignal | undefined): Promise<Uint8Array | undefined> {
    const free = this.#free.pop();
    if (free) return free;
    if (this.#allocated < this.#count) {
      this.#allocated++;
      return new Uint8Array(this.#size);
    }
    await raceAbort(new Promise<void>((resolve) => this.#waiters.push(resolve)), signal);
    return this.#free.pop();
  }

  /** Returns a buffer whose bytes were sent. */
  release(buffer: Uint8Array): void {
    this.#free.push(buffer);
    this.#waiters.shift()?.();
  }

  /** Wakes every waiting `acquire` empty-handed (the upload failed). */
  wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
