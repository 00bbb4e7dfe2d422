import { setImmediate as nextTurn } from "node:timers/promises";
import type { AbandonedUploads } from "./abandoned-uploads.js";
import type { ReadPins } from "./read-pins.js";
import type { Recency } from "./recency.js";
import type { Statements } from "./statements.js";
import type { Tally } from "./tally.js";
import type { UploadOwner } from "./uploads.js";

/** Candidates read per statement while looking for the least recently used blob no reader pins. */
const CANDIDATE_PAGE = 64;
/** How often uses are written and the size is checked without any write of ours (other processes write too). */
const TICK_MS = 1_000;
const NO_DIGEST = new Uint8Array(0);

/** What eviction needs from the store. */
export interface EvictionContext {
  readonly statements: Statements;
  /** The store's bytes of data, shared with its statistics. */
  readonly storedBytes: Tally;
  readonly recency: Recency;
  readonly pins: ReadPins;
  readonly abandonedUploads: AbandonedUploads;
  readonly owner: UploadOwner;
  readonly now: () => number;
}

/**
 * Keeps a store with `maxSize` at or under that many bytes of blob and chunk data (shared chunks
 * counted once) by evicting the least recently used blobs, each with the chunks no other blob
 * and no upload uses. It runs in the background, one blob per transaction (a chunked blob's
 * chunks then in the bounded batches that release any abandoned upload), yielding to other work
 * between steps, and never touches:
 * - a blob an open reader of this process is reading (see ReadPins), nor therefore its chunks;
 * - the most recently used blob (so a blob whose writer's `close` just returned, or that was just
 *   read, stays even when it alone exceeds the bound, until another blob is used);
 * - a chunk that any stored blob lists or any upload (a writer still writing) holds.
 *
 * Writers wait for room: before each batch of chunks and before a commit, a writer that finds the
 * store over its bound waits for the pass under way to end (when the store is back under the
 * bound, or nothing more can be evicted). So the store exceeds its bound by at most one batch per
 * writer (two average chunks plus one maximal chunk), and a writer never waits longer than it
 * takes to evict that much. Readers never wait.
 */
export class Evictor {
  readonly maxSize: number;
  readonly #context: EvictionContext;
  #pass: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(context: EvictionContext, maxSize: number) {
    this.#context = context;
    this.maxSize = maxSize;
  }

  /** Starts the timer that writes uses and catches growth by other processes; evicts at once if over. */
  start(): void {
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
    this.noticeWrite();
  }

  /** Bytes of data stored (see Tally: a scan only after another connection committed). */
  storedSize(): number {
    return this.#context.storedBytes.value();
  }

  /**
   * Undefined when the store is within its bound; else starts evicting (if not already) and
   * returns a promise that resolves (never rejects) when that pass is over.
   */
  roomForWrite(): Promise<void> | undefined {
    return this.#overBound() ? this.#startPass() : undefined;
  }

  /** After a write: starts evicting in the background if the store is over its bound. */
  noticeWrite(): void {
    if (this.#overBound()) void this.#startPass();
  }

  /** Resolves once no pass is under way and the store is within its bound or nothing is left to evict. */
  async settle(): Promise<void> {
    while (this.#pass) await this.#pass;
    if (this.#overBound()) await this.#startPass();
  }

  /** Stops evicting (a step under way finishes) and writes the pending uses, best effort. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    try {
      this.#context.recency.flush();
    } catch {
      // Lost uses only make eviction a little less precise.
    }
  }

  #overBound(): boolean {
    if (this.#closed) return false;
    try {
      return this.storedSize() > this.maxSize;
    } catch {
      // SQLite busy: the next write or tick looks again.
      return false;
    }
  }

  #tick(): void {
    try {
      this.#context.recency.flush();
    } catch {
      // Busy: retried at the next tick.
    }
    this.noticeWrite();
  }

  #startPass(): Promise<void> {
    this.#pass ??= this.#run().finally(() => {
      this.#pass = undefined;
    });
    return this.#pass;
  }

  /** Evicts one blob at a time until the store is within its bound or nothing evictable is left. */
  async #run(): Promise<void> {
    const { statements, recency, abandonedUploads, owner, now } = this.#context;
    // Off the stack of the write that noticed the overflow.
    await nextTurn();
    // Blobs up to here (in order of use) were pinned when this pass looked at them.
    let after: [usedAt: number, digest: Uint8Array] = [-1, NO_DIGEST];
    while (!this.#closed) {
      try {
        recency.flush();
        if (this.storedSize() <= this.maxSize) return;
        const candidate = this.#leastRecentlyUsed(after);
        if (candidate === undefined) return;
        after = candidate.skipped;
        const upload = statements.evictBlob(candidate.digest, owner, now());
        if (upload === undefined) {
          await nextTurn();
          continue;
        }
        await abandonedUploads.abandon([upload]);
        // Still pending: SQLite refused (another process holds the lock); it is retried in the
        // background, and evicting more meanwhile would evict more than needed.
        if (abandonedUploads.pending.includes(upload)) return;
      } catch {
        // Busy or closed: the next write or tick starts a new pass.
        return;
      }
    }
  }

  /** The least recently used blob after `after` that no reader pins, and the last pinned one skipped. */
  #leastRecentlyUsed(after: [number, Uint8Array]): { digest: Uint8Array; skipped: [number, Uint8Array] } | undefined {
    const { statements, pins } = this.#context;
    let position = after;
    for (;;) {
      const page = statements.leastRecentlyUsed(position[0], position[1], CANDIDATE_PAGE);
      for (const [digest, usedAt] of page) {
        if (!pins.isPinned(digest.toString("hex"))) return { digest, skipped: position };
        position = [usedAt, digest];
      }
      if (page.length < CANDIDATE_PAGE) return undefined;
    }
  }
}
