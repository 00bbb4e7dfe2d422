import { Code, ConnectError } from "@connectrpc/connect";
import { raceAbort } from "castore-core/backend";

/**
 * A number of bytes shared by every call of a server: what uploads hold between the socket and the
 * store, what downloads hold on their way out. A call takes bytes before it buffers them and gives
 * them back once they are gone; when none are left it waits (first come, first served), and while
 * it waits it reads nothing from its client, so HTTP/2 flow control stops that client's sender
 * instead of the server's memory growing.
 */
export class ByteBudget {
  readonly capacity: number;
  #available: number;
  readonly #waiting: Array<{ bytes: number; grant: () => void }> = [];

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#available = capacity;
  }

  get available(): number {
    return this.#available;
  }

  /** Takes `bytes` if that many are free now; false otherwise (nothing taken). */
  tryTake(bytes: number): boolean {
    if (this.#waiting.length > 0 || bytes > this.#available) return false;
    this.#available -= bytes;
    return true;
  }

  /** Takes `bytes` (at most the capacity), waiting for them if need be; rejects (Aborted) if `signal` fires first. */
  async take(bytes: number, signal: AbortSignal): Promise<void> {
    const wanted = Math.min(bytes, this.capacity);
    if (this.tryTake(wanted)) return;
    const granted = Promise.withResolvers<void>();
    const entry = { bytes: wanted, grant: granted.resolve };
    this.#waiting.push(entry);
    try {
      await raceAbort(granted.promise, signal);
    } catch (error) {
      const index = this.#waiting.indexOf(entry);
      if (index >= 0) this.#waiting.splice(index, 1);
      else this.give(wanted); // granted just as the signal fired
      this.#grantWaiting();
      throw error;
    }
  }

  /** Gives back bytes taken earlier. */
  give(bytes: number): void {
    this.#available = Math.min(this.capacity, this.#available + bytes);
    this.#grantWaiting();
  }

  #grantWaiting(): void {
    for (let next = this.#waiting[0]; next && next.bytes <= this.#available; next = this.#waiting[0]) {
      this.#waiting.shift();
      this.#available -= next.bytes;
      next.grant();
    }
  }
}

/**
 * What one call holds of a budget. The first `freeBytes` of a call are not charged, so small calls
 * (Stat, small blobs) never wait behind large ones; past `capBytes` nothing more is charged
 * either, because a call never holds more than that at once (what it passed on is in the store).
 */
export class CallCharge {
  readonly #budget: ByteBudget;
  readonly #freeBytes: number;
  readonly #capBytes: number;
  #seen = 0;
  #held = 0;

  readonly #maxWaitMs: number;

  /** `maxWaitMs`: how long the call may wait for the budget before it fails with RESOURCE_EXHAUSTED. */
  constructor(budget: ByteBudget, freeBytes: number, capBytes: number, maxWaitMs: number) {
    this.#budget = budget;
    this.#freeBytes = freeBytes;
    this.#capBytes = capBytes;
    this.#maxWaitMs = maxWaitMs;
  }

  /** Charges the next `bytes` the call buffers, waiting for them if the budget is spent. */
  async charge(bytes: number, signal: AbortSignal): Promise<void> {
    this.#seen += bytes;
    const due = Math.min(this.#seen, this.#capBytes) - this.#freeBytes - this.#held;
    if (due <= 0) return;
    const waited = AbortSignal.timeout(this.#maxWaitMs);
    try {
      await this.#budget.take(due, AbortSignal.any([signal, waited]));
    } catch (error) {
      if (waited.aborted && !signal.aborted) {
        throw new ConnectError(
          `the server is busy: no memory for this call's data within ${this.#maxWaitMs} ms`,
          Code.ResourceExhausted,
        );
      }
      throw error;
    }
    this.#held += due;
  }

  /** Gives back everything the call holds (it ended). Idempotent. */
  release(): void {
    this.#budget.give(this.#held);
    this.#held = 0;
  }
}
