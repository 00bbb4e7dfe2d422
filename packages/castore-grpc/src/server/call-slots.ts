/**
 * Counts the calls a server is handling against a cap. Every call holds state the byte budget
 * does not see (its HTTP/2 stream, request and response, timers, the call's record): about 20 KB
 * live and more until collected. Without a cap only `maxConnections` × `maxConcurrentStreams`
 * bound it, which is enough stalled calls to exhaust any machine's memory.
 */
export class CallSlots {
  readonly #capacity: number;
  #taken = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** How many calls hold a slot. */
  get taken(): number {
    return this.#taken;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /**
   * Takes a slot for the call answered by `response` until it emits 'close' (finished, failed or
   * cancelled); false, taking nothing, when every slot is taken.
   */
  tryTake(response: { once(event: "close", listener: () => void): unknown }): boolean {
    if (this.#taken >= this.#capacity) return false;
    this.#taken++;
    response.once("close", () => {
      this.#taken--;
    });
    return true;
  }
}
