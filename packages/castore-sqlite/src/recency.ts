import type { Statements } from "./statements.js";

/** Ticks of the use clock per millisecond: uses within one millisecond still get distinct times. */
const TICKS_PER_MS = 1024;

/**
 * When blobs were last used, for least-recently-used eviction. A use is a stored blob's commit
 * (recorded with the blob, in its transaction) or, in a bounded store, an open for reading or a
 * commit of a blob that was already there. Uses are kept in memory and written in one small
 * transaction per flush (before each eviction step, every few seconds, at close), never one
 * write per read: a read costs a map update, and the write-ahead log grows by a page or two per
 * flush, whatever the number of reads.
 *
 * Times come from a clock that never goes backwards in this process and ticks at least once per
 * use (milliseconds × 1024, plus one when the millisecond did not change): uses in one process are
 * ordered exactly, uses in several processes sharing a file by their wall clocks.
 */
export class Recency {
  readonly #statements: Statements;
  readonly #now: () => number;
  /** Uses not yet written, by digest (hex): the latest only. */
  readonly #pending = new Map<string, readonly [digest: Uint8Array, usedAt: number]>();
  #last = 0;

  constructor(statements: Statements, now: () => number) {
    this.#statements = statements;
    this.#now = now;
  }

  /** A new, later time on the use clock. */
  tick(): number {
    this.#last = Math.max(Math.floor(this.#now()) * TICKS_PER_MS, this.#last + 1);
    return this.#last;
  }

  /** Records a use of a stored blob now (written at the next flush). */
  touch(digest: Uint8Array, hex: string): void {
    this.#pending.set(hex, [digest.slice(), this.tick()]);
  }

  get dirty(): boolean {
    return this.#pending.size > 0;
  }

  /** Writes the pending uses; on failure (SQLite busy) they stay pending for the next flush. */
  flush(): void {
    if (this.#pending.size === 0) return;
    this.#statements.touchBlobs(this.#pending.values());
    this.#pending.clear();
  }
}
