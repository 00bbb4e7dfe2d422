import type { ChunkFiles } from "./chunk-files.js";
import type { Statements } from "./statements.js";
import { deleteUpload, deleteUploadNow } from "./uploads.js";

/**
 * Uploads whose rows this process still has to delete, per database file. Shared by every store in
 * the process (and every copy of this package, like the process token), so that what a closed
 * store could not delete, the next open of the same file finishes: our own live process token
 * would otherwise keep those rows from being reclaimed until the process exits.
 */
const PENDING = ((globalThis as Record<symbol, unknown>)[Symbol.for("castore-sqlite.pendingUploadDeletes")] ??= new Map<
  string,
  Set<number>
>()) as Map<string, Set<number>>;

const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 30_000;

/**
 * Deletes the rows of uploads that will never commit (aborted writers, duplicates of stored blobs,
 * uploads reclaimed on open). SQLite may refuse for a while (another process holds the write lock
 * past the busy timeout); then the deletion is retried in the background with backoff, tried once
 * more on close, and left to the next open of the file in this process, so an aborted writer
 * never leaves rows behind in a long-running process.
 */
export class AbandonedUploads {
  readonly #file: string;
  readonly #statements: Statements;
  readonly #chunkFiles: ChunkFiles;
  #running: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #retryDelay = FIRST_RETRY_MS;
  #closed = false;

  constructor(file: string, statements: Statements, chunkFiles: ChunkFiles) {
    this.#file = file;
    this.#statements = statements;
    this.#chunkFiles = chunkFiles;
  }

  /** Uploads of this file that this process gave up on earlier, for reclaiming at open. */
  get pending(): readonly number[] {
    return [...(PENDING.get(this.#file) ?? [])];
  }

  /**
   * Abandons the uploads (they can gain no rows and cannot commit) and deletes their rows; resolves
   * once a first attempt is over. Never fails: what SQLite refuses now is retried.
   */
  async abandon(uploads: Iterable<number>): Promise<void> {
    for (const upload of uploads) this.#add(upload);
    // One pass at a time; a pass started earlier may have missed the uploads just added.
    while (this.#running) await this.#running;
    if (this.#closed) return;
    this.#running = this.#deleteAll().finally(() => {
      this.#running = undefined;
    });
    await this.#running;
  }

  /**
   * A last synchronous attempt before the connection closes; what still fails stays pending for
   * the next open of the file in this process.
   */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    for (const upload of this.pending) {
      try {
        deleteUploadNow(this.#statements, this.#chunkFiles, upload);
        this.#done(upload);
      } catch {
        // Refused (each try waits out the busy timeout, so stop at the first): the next open of
        // this file, here or in any process after ours, deletes what is left.
        return;
      }
    }
  }

  /** Forgets everything pending for the file (a temporary store, deleted with its directory). */
  forgetAll(): void {
    PENDING.delete(this.#file);
  }

  async #deleteAll(): Promise<void> {
    clearTimeout(this.#retry);
    for (const upload of this.pending) {
      try {
        await deleteUpload(this.#statements, this.#chunkFiles, upload);
        this.#done(upload);
      } catch {
        // Busy past the timeout (each try waits it out, so stop at the first refusal), or closed
        // meanwhile: retried later, on close or by the next open.
        if (!this.#closed) this.#scheduleRetry();
        return;
      }
      if (this.#closed) return;
    }
    this.#retryDelay = FIRST_RETRY_MS;
  }

  #scheduleRetry(): void {
    const delay = this.#retryDelay;
    this.#retryDelay = Math.min(delay * 2, MAX_RETRY_MS);
    // Unref'd: a process may exit with rows pending, which any later open reclaims (their owner is gone).
    this.#retry = setTimeout(() => void this.abandon([]), delay).unref();
  }

  #add(upload: number): void {
    const pending = PENDING.get(this.#file);
    if (pending) pending.add(upload);
    else PENDING.set(this.#file, new Set([upload]));
  }

  #done(upload: number): void {
    const pending = PENDING.get(this.#file);
    pending?.delete(upload);
    if (pending?.size === 0) PENDING.delete(this.#file);
  }
}
