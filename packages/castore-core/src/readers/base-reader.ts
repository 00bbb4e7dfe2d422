import type { B3Digest } from "../digest.js";
import {
  BackendError,
  ClosedError,
  InvalidArgumentError,
  isAborted,
  isInvalidArgument,
  isUnsupported,
  UnsupportedError,
} from "../errors.js";
import { checkInteger } from "../integers.js";
import { markReportsFinish, notifyFinished } from "../lifecycle.js";
import { SerialQueue } from "../serial.js";
import { type SignalOptions, throwIfAborted } from "../signal.js";
import type { BlobReader, ReadOptions, SeekOrigin } from "../types.js";
import { iterateReader } from "./iterate.js";

/**
 * Shared plumbing for readers: argument checks, the closed state, seek arithmetic, iteration and
 * disposal. Subclasses supply `readChunk` (at `this.position`) and, if they can, `seekTo`.
 * Reads and seeks run one at a time in call order, so overlapping calls never see the same position.
 */
export abstract class BaseBlobReader implements BlobReader {
  readonly digest: B3Digest;
  abstract readonly size: number | undefined;
  abstract readonly seekable: boolean;
  #position = 0;
  #closed = false;
  /** The first error a read or seek hit (other than a cancellation); every later call rethrows it. */
  #failure: unknown;
  readonly #queue = new SerialQueue();

  protected constructor(digest: B3Digest) {
    this.digest = digest;
  }

  get position(): number {
    return this.#position;
  }

  /**
   * The next chunk at `this.position` (at most `maxBytes`), or undefined at the end. `into` is the
   * caller's buffer (see ReadOptions.into; `maxBytes` is already no more than its length): return a
   * view of it holding the bytes where that saves memory, or bytes of your own.
   */
  protected abstract readChunk(
    maxBytes: number,
    signal: AbortSignal | undefined,
    into: Uint8Array | undefined,
  ): Promise<Uint8Array | undefined>;

  /** Moves to `target` (≥ 0, already validated). Forward-only readers throw for backward targets. */
  protected abstract seekTo(target: number, signal: AbortSignal | undefined): Promise<void>;

  /** Frees resources; called once by close(). */
  protected release(): Promise<void> | void {}

  protected get closed(): boolean {
    return this.#closed;
  }

  read(options?: ReadOptions): Promise<Uint8Array | undefined> {
    return this.#queue.run(async () => {
      this.#assertOpen();
      throwIfAborted(options?.signal);
      let maxBytes = options?.maxBytes ?? Number.POSITIVE_INFINITY;
      if (maxBytes !== Number.POSITIVE_INFINITY) checkInteger("maxBytes", maxBytes);
      const into = options?.into;
      if (into !== undefined) {
        if (!(into instanceof Uint8Array) || into.length === 0) {
          throw new InvalidArgumentError("read's `into` must be a Uint8Array of at least one byte");
        }
        maxBytes = Math.min(maxBytes, into.length);
      }
      const chunk = await this.#guard(async () => {
        const next = await this.readChunk(maxBytes, options?.signal, into);
        // An empty chunk would look like progress while reading nothing: a bug in the subclass.
        if (next?.length === 0) throw new BackendError("reader produced an empty chunk before the end of the blob");
        return next;
      });
      if (chunk) this.#position += chunk.length;
      return chunk;
    });
  }

  seek(offset: number, origin: SeekOrigin = "start", options?: SignalOptions): Promise<number> {
    return this.#queue.run(async () => {
      this.#assertOpen();
      throwIfAborted(options?.signal);
      if (!Number.isSafeInteger(offset))
        throw new InvalidArgumentError(`seek offset must be an integer, got ${offset}`);
      let target: number;
      switch (origin) {
        case "start":
          target = offset;
          break;
        case "current":
          target = this.#position + offset;
          break;
        case "end":
          if (this.size === undefined) {
            throw new UnsupportedError("cannot seek from the end: this reader does not know the blob's size");
          }
          target = this.size + offset;
          break;
        default:
          throw new InvalidArgumentError(`unknown seek origin ${JSON.stringify(origin)}`);
      }
      if (target < 0) throw new InvalidArgumentError(`cannot seek to ${target}: before the start of the blob`);
      if (target !== this.#position) {
        await this.#guard(() => this.seekTo(target, options?.signal));
        this.#position = target;
      }
      return target;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.release();
    } finally {
      notifyFinished(this);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return iterateReader(this);
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError("reader is closed");
    if (this.#failure !== undefined) throw this.#failure;
  }

  /**
   * Runs a read or seek and remembers its failure: after an Integrity or backend error the reader
   * must not carry on as if the blob had ended cleanly. A cancelled call is not a failure of the
   * blob, so it does not stick (the subclass keeps its source consistent across it).
   */
  async #guard<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (!isAborted(error) && !isUnsupported(error) && !isInvalidArgument(error)) this.#failure = error;
      throw error;
    }
  }
}

// Services of any copy of castore-core track these handles (see lifecycle.ts).
markReportsFinish(BaseBlobReader.prototype);
