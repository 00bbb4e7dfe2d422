import { chunksOf } from "../bytes.js";
import { B3Digest } from "../digest.js";
import { AbortedError, BackendError, ClosedError, isCastoreError } from "../errors.js";
import type { Blake3Hasher } from "../hashing/blake3.js";
import { createBlake3Hasher } from "../hashing/hash.js";
import { markReportsFinish, notifyFinished } from "../lifecycle.js";
import { SerialQueue } from "../serial.js";
import { abortedError, type SignalOptions, throwIfAborted } from "../signal.js";
import type { BlobWriter, BytesInput } from "../types.js";

type State =
  | { kind: "open" }
  | { kind: "closed"; digest: B3Digest }
  | { kind: "failed"; error: unknown }
  | { kind: "aborted"; reason: unknown };

/**
 * The writer state machine and the hashing, written once for every backend (docs/design.md §3).
 * A backend supplies three steps:
 * - `writeChunk(chunk)`: put bytes somewhere (called in order, never concurrently; the chunk is the
 *   caller's buffer, so copy it if you keep it);
 * - `commit(digest, size)`: make the blob visible under `digest`, atomically, unless it exists;
 * - `discard()`: drop whatever `writeChunk` put down (after abort, dispose, or a failed write/commit).
 *
 * Operations are serialised, so overlapping `write` calls keep their order. An aborted signal
 * during `write` or `close` aborts the whole writer: nothing is stored.
 */
export abstract class BaseBlobWriter implements BlobWriter {
  #state: State = { kind: "open" };
  #hasher: Blake3Hasher | undefined;
  #bytesWritten = 0;
  readonly #queue = new SerialQueue();
  #released = false;
  /** Fires on abort(), so a write stuck on a stalled source or backend stops at once. */
  readonly #cancel = new AbortController();

  protected abstract writeChunk(chunk: Uint8Array, signal: AbortSignal | undefined): Promise<void> | void;
  protected abstract commit(digest: B3Digest, size: number, signal: AbortSignal | undefined): Promise<void> | void;
  protected abstract discard(): Promise<void> | void;

  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  write(data: BytesInput, options?: SignalOptions): Promise<void> {
    return this.#queue.run(async () => {
      this.#assertWritable();
      const signal = this.#withCancel(options?.signal);
      try {
        throwIfAborted(signal);
        this.#hasher ??= await createBlake3Hasher();
        for await (const chunk of chunksOf(data, { signal })) {
          if (chunk.length === 0) continue;
          if (this.#state.kind !== "open") throw this.#notWritableError();
          await this.writeChunk(chunk, signal);
          throwIfAborted(signal);
          this.#hasher.update(chunk);
          this.#bytesWritten += chunk.length;
        }
      } catch (error) {
        // A failed or cancelled write leaves an unknown prefix behind: the writer cannot go on.
        await this.#fail(signal.aborted ? abortedError(signal) : error);
        throw this.#state.kind === "aborted" ? abortedErrorFrom(this.#state.reason) : error;
      }
    });
  }

  close(options?: SignalOptions): Promise<B3Digest> {
    return this.#queue.run(async () => {
      const state = this.#state;
      if (state.kind === "closed") return state.digest;
      if (state.kind === "failed") {
        throw new ClosedError("writer was previously closed with error", { cause: state.error });
      }
      if (state.kind === "aborted") throw new ClosedError("writer was aborted", { cause: state.reason });
      const signal = this.#withCancel(options?.signal);
      try {
        throwIfAborted(signal);
        const hasher = this.#hasher ?? (await createBlake3Hasher());
        this.#hasher = undefined;
        const digest = B3Digest.fromBytes(hasher.digest());
        await this.commit(digest, this.#bytesWritten, signal);
        this.#state = { kind: "closed", digest };
        notifyFinished(this);
        return digest;
      } catch (error) {
        const failure = signal.aborted ? abortedError(signal) : error;
        await this.#fail(failure);
        throw isCastoreError(failure) ? failure : new BackendError("failed to store the blob", { cause: failure });
      }
    });
  }

  abort(reason?: unknown): Promise<void> {
    if (this.#state.kind !== "open") return this.#queue.idle();
    // Mark at once and cancel a write in progress (even one waiting on a stalled source); discard
    // once it has stopped.
    const abortReason = reason ?? new AbortedError("writer was aborted");
    this.#state = { kind: "aborted", reason: abortReason };
    this.#cancel.abort(abortReason);
    return this.#queue.run(() => this.#release());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.abort(new AbortedError("writer was disposed without close"));
  }

  #assertWritable(): void {
    if (this.#state.kind !== "open") throw this.#notWritableError();
  }

  #notWritableError(): Error {
    switch (this.#state.kind) {
      case "closed":
        return new ClosedError("writer is already closed");
      case "aborted":
        return abortedErrorFrom(this.#state.reason);
      default:
        return new ClosedError("writer was previously closed with error");
    }
  }

  async #fail(error: unknown): Promise<void> {
    if (this.#state.kind === "open") this.#state = { kind: "failed", error };
    await this.#release();
  }

  async #release(): Promise<void> {
    // A close that was already committing when abort() came in may have won: its blob stays.
    if (this.#released || this.#state.kind === "closed") return;
    this.#released = true;
    notifyFinished(this);
    this.#hasher?.dispose();
    this.#hasher = undefined;
    try {
      await this.discard();
    } catch {
      // Discarding is best effort: the blob was never committed, so nothing visible is left behind.
    }
  }

  /** The caller's signal combined with the writer's own cancellation. */
  #withCancel(signal: AbortSignal | undefined): AbortSignal {
    return signal ? AbortSignal.any([signal, this.#cancel.signal]) : this.#cancel.signal;
  }
}

// Services of any copy of castore-core track these handles (see lifecycle.ts).
markReportsFinish(BaseBlobWriter.prototype);

function abortedErrorFrom(reason: unknown): AbortedError {
  if (isCastoreError(reason) && reason.code === "Aborted") return reason as AbortedError;
  return new AbortedError("writer was aborted", { cause: reason });
}
