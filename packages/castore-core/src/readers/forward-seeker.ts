import type { B3Digest } from "../digest.js";
import { UnsupportedError } from "../errors.js";
import { raceAbort } from "../signal.js";
import { BaseBlobReader } from "./base-reader.js";

export interface ForwardSeekerOptions {
  /** Called once when the reader is closed before the source ended (for example to cancel a network call). */
  onClose?: (() => Promise<void> | void) | undefined;
}

/**
 * A reader over a pure stream of chunks (such as a gRPC Read). Seeking forward skips bytes; a backward
 * seek or a seek from the end fails with an `Unsupported` error. Seeking exactly to the end is fine
 * and then reads nothing; seeking past the end reads nothing.
 */
export class ForwardSeeker extends BaseBlobReader {
  /** A stream does not know its length, so seeking from the end is refused. */
  readonly size = undefined;
  readonly seekable = false;
  readonly #iterator: AsyncIterator<Uint8Array>;
  readonly #onClose: (() => Promise<void> | void) | undefined;
  /** Bytes received from the source but not yet handed out. */
  #pending: Uint8Array | undefined;
  /** Offset in the source of the first byte of #pending (or of the next chunk). */
  #sourceOffset = 0;
  #ended = false;
  /**
   * A source step still running after the caller stopped waiting (its signal fired). The next read
   * picks up its result, so no chunk is ever lost between a cancelled read and the next one.
   */
  #inflight: Promise<IteratorResult<Uint8Array>> | undefined;

  constructor(digest: B3Digest, source: AsyncIterable<Uint8Array>, options: ForwardSeekerOptions = {}) {
    super(digest);
    this.#iterator = source[Symbol.asyncIterator]();
    this.#onClose = options.onClose;
  }

  /** The next unconsumed chunk of the source, or undefined at its end. */
  async #next(signal: AbortSignal | undefined): Promise<Uint8Array | undefined> {
    if (this.#pending) {
      const chunk = this.#pending;
      this.#pending = undefined;
      return chunk;
    }
    if (this.#ended) return undefined;
    for (;;) {
      this.#inflight ??= this.#iterator.next();
      const result = await raceAbort(this.#inflight, signal);
      this.#inflight = undefined;
      if (result.done) {
        this.#ended = true;
        return undefined;
      }
      if (result.value.length > 0) return result.value;
    }
  }

  protected async readChunk(maxBytes: number, signal: AbortSignal | undefined): Promise<Uint8Array | undefined> {
    const chunk = await this.#next(signal);
    if (!chunk) return undefined;
    if (chunk.length > maxBytes) {
      this.#pending = chunk.subarray(maxBytes);
      this.#sourceOffset += maxBytes;
      return chunk.subarray(0, maxBytes);
    }
    this.#sourceOffset += chunk.length;
    return chunk;
  }

  protected async seekTo(target: number, signal: AbortSignal | undefined): Promise<void> {
    if (target < this.position) {
      throw new UnsupportedError(
        `cannot seek backwards (from ${this.position} to ${target}): this reader streams the blob forward only`,
      );
    }
    let toSkip = target - this.#sourceOffset;
    while (toSkip > 0) {
      const chunk = await this.#next(signal);
      if (!chunk) return; // past the end: later reads yield nothing
      if (chunk.length > toSkip) {
        this.#pending = chunk.subarray(toSkip);
        this.#sourceOffset += toSkip;
        return;
      }
      this.#sourceOffset += chunk.length;
      toSkip -= chunk.length;
    }
  }

  protected override async release(): Promise<void> {
    this.#pending = undefined;
    if (this.#ended) return;
    this.#ended = true;
    await this.#onClose?.();
    // An async generator runs return() only after a pending next() settles, which a stalled source
    // may never do: then ask it to stop without waiting (onClose has cancelled what it can).
    const returning = Promise.resolve(this.#iterator.return?.()).catch(() => {});
    if (this.#inflight) this.#inflight.catch(() => {});
    else await returning;
  }
}
