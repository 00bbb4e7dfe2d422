import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorCode } from "castore-core";
import { raceAbort } from "castore-core/backend";
import { ERROR_CODE_METADATA } from "../wire/status.js";
import type { ReadReservation } from "./blob-calls.js";
import type { StallWatch } from "./request-watch.js";

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
 * A connection's bytes that calls on it may buffer without charging the server's budget: each call
 * takes its first bytes from here, so that small calls (Stat, small blobs) never wait behind large
 * ones. Bounded per connection, so that many stalled calls cannot buffer their free bytes on top of
 * a spent budget: a connection's calls beyond the reserve are charged from their first byte.
 */
export class FreeAllowance {
  #left: number;

  constructor(bytes: number) {
    this.#left = bytes;
  }

  get left(): number {
    return this.#left;
  }

  /** Takes as many of `bytes` as are left (perhaps none) and says how many. */
  takeUpTo(bytes: number): number {
    const taken = Math.max(0, Math.min(bytes, this.#left));
    this.#left -= taken;
    return taken;
  }

  give(bytes: number): void {
    this.#left += bytes;
  }
}

export interface CallChargeOptions {
  /** The call's connection's free bytes. */
  allowance: FreeAllowance;
  /** The most of its bytes one call takes from `allowance`. */
  freeBytes: number;
  /** A call never holds more than this at once (what it passed on is in the store): past it, nothing more is charged. */
  capBytes: number;
  /** How long the call may wait for the budget before it fails with RESOURCE_EXHAUSTED. */
  maxWaitMs: number;
}

/**
 * What one call holds of a budget. A charge within its first `freeBytes` comes from its connection's
 * free allowance, if that covers all of it; any other, up to `capBytes` in all, from the budget.
 */
export class CallCharge {
  readonly #budget: ByteBudget;
  readonly #options: CallChargeOptions;
  #seen = 0;
  #free = 0;
  #held = 0;

  constructor(budget: ByteBudget, options: CallChargeOptions) {
    this.#budget = budget;
    // A call that held more than the whole budget would wait on itself for the rest, and fail
    // "busy" every time however idle the server (a maxBufferedBytes below a Put's cap).
    this.#options = { ...options, capBytes: Math.min(options.capBytes, budget.capacity) };
  }

  /** Charges the next `bytes` the call buffers, waiting for them if the budget is spent. */
  async charge(bytes: number, signal: AbortSignal): Promise<void> {
    const { capBytes, maxWaitMs } = this.#options;
    this.#seen += bytes;
    const due = Math.min(this.#seen, capBytes) - this.#free - this.#held;
    if (due <= 0) return;
    if (this.#takeFree(due)) return;
    const waited = AbortSignal.timeout(maxWaitMs);
    try {
      await this.#budget.take(due, AbortSignal.any([signal, waited]));
    } catch (error) {
      if (waited.aborted && !signal.aborted) {
        throw new ConnectError(
          `the server is busy: no memory for this call's data within ${maxWaitMs} ms`,
          Code.ResourceExhausted,
          // castore clients raise Unavailable (busy, retry later), not TooLarge (see wire/status.ts).
          { [ERROR_CODE_METADATA]: ErrorCode.Unavailable },
        );
      }
      throw error;
    }
    // The budget lends at most its capacity (see take): that is what there is to give back.
    this.#held += Math.min(due, this.#budget.capacity);
  }

  /** Charges the next `bytes` at once if there is room now; false, having charged nothing, otherwise. */
  tryCharge(bytes: number): boolean {
    const seen = this.#seen + bytes;
    const due = Math.min(seen, this.#options.capBytes) - this.#free - this.#held;
    if (due > 0 && !this.#takeFree(due)) {
      if (!this.#budget.tryTake(due)) return false;
      this.#held += due;
    }
    this.#seen = seen;
    return true;
  }

  /**
   * Takes `due` from the free bytes if they cover all of it (the call's share and its connection's
   * allowance), else takes none. A charge that is partly free and partly waits for the budget would
   * hold free bytes while it waits: four large Reads waiting on one connection used to hold all of
   * its allowance, and its small calls then waited behind them.
   */
  #takeFree(due: number): boolean {
    const { allowance, freeBytes } = this.#options;
    if (due > freeBytes - this.#free || due > allowance.left) return false;
    this.#free += allowance.takeUpTo(due);
    return true;
  }

  /** Gives back everything the call holds (it ended). Idempotent. */
  release(): void {
    this.#budget.give(this.#held);
    this.#options.allowance.give(this.#free);
    this.#held = 0;
    this.#free = 0;
  }
}

/**
 * A served Read's charge, and the reservation `readBlob` makes through it: what serving the reader
 * holds, charged with no cap, its wait for room limited to `maxWaitMs`. A `stall` watch given is
 * paused while the Read waits for room: the server is waiting then, not the client.
 */
export function readCharge(
  budget: ByteBudget,
  options: Pick<CallChargeOptions, "allowance" | "freeBytes" | "maxWaitMs">,
  signal: AbortSignal,
  stall?: StallWatch,
): { charge: CallCharge; reservation: ReadReservation } {
  const charge = new CallCharge(budget, { ...options, capBytes: Number.MAX_SAFE_INTEGER });
  const reservation: ReadReservation = {
    tryReserve: (bytes) => charge.tryCharge(bytes),
    async reserve(bytes) {
      stall?.pause();
      try {
        await charge.charge(bytes, signal);
      } finally {
        stall?.resume();
      }
    },
  };
  return { charge, reservation };
}
