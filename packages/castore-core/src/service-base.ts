import { B3Digest } from "./digest.js";
import { ClosedError, InvalidDigestError } from "./errors.js";
import { onFinished } from "./lifecycle.js";
import { BaseBlobReader } from "./readers/base-reader.js";
import { type SignalOptions, throwIfAborted } from "./signal.js";
import type { BlobReader, BlobService, BlobWriter } from "./types.js";
import { BaseBlobWriter } from "./writers/base-writer.js";

/** What callers may pass where a digest is expected (JavaScript callers are not type-checked). */
export type DigestLike = B3Digest | Uint8Array | string;

/** Turns a caller's digest argument into a B3Digest, or throws an `InvalidDigest` error naming the problem. */
export function toDigest(value: DigestLike): B3Digest {
  if (value instanceof B3Digest) return value;
  if (value instanceof Uint8Array || typeof value === "string") return B3Digest.from(value);
  throw new InvalidDigestError(`expected a B3Digest, got ${value === null ? "null" : typeof value}`);
}

/**
 * The public-method plumbing every backend shares: argument checks, signal checks, the closed
 * state, and closing what is still open when the service closes. Backends implement the
 * protected `…Impl` methods and receive a validated digest and a live signal.
 */
export abstract class BaseBlobService implements BlobService {
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #open = new Set<BlobReader | BlobWriter>();

  protected abstract hasImpl(digest: B3Digest, signal: AbortSignal | undefined): Promise<boolean>;
  protected abstract openReadImpl(digest: B3Digest, signal: AbortSignal | undefined): Promise<BlobReader | undefined>;
  protected abstract openWriteImpl(signal: AbortSignal | undefined): Promise<BlobWriter>;
  /** Releases the backend's own resources, after every reader and writer it handed out is closed. */
  protected closeImpl(): Promise<void> | void {}

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  async has(digest: DigestLike, options?: SignalOptions): Promise<boolean> {
    const checked = this.#enter(digest, options);
    return this.hasImpl(checked, options?.signal);
  }

  async openRead(digest: DigestLike, options?: SignalOptions): Promise<BlobReader | undefined> {
    const checked = this.#enter(digest, options);
    const reader = await this.openReadImpl(checked, options?.signal);
    if (reader) this.#track(reader);
    return reader;
  }

  async openWrite(options?: SignalOptions): Promise<BlobWriter> {
    this.#assertOpen();
    throwIfAborted(options?.signal);
    const writer = await this.openWriteImpl(options?.signal);
    this.#track(writer);
    return writer;
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      // Writers that were never closed are aborted: they must not leave a blob behind.
      await Promise.allSettled(
        [...this.#open].map((handle) =>
          "abort" in handle ? handle.abort(new ClosedError("service closed")) : handle.close(),
        ),
      );
      this.#open.clear();
      await this.closeImpl();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #enter(digest: DigestLike, options: SignalOptions | undefined): B3Digest {
    this.#assertOpen();
    throwIfAborted(options?.signal);
    return toDigest(digest);
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError("blob service is closed");
  }

  /** Remembers a handle until it finishes, so close() can finish it. */
  #track(handle: BlobReader | BlobWriter): void {
    if (!(handle instanceof BaseBlobReader || handle instanceof BaseBlobWriter)) return;
    this.#open.add(handle);
    onFinished(handle, () => this.#open.delete(handle));
  }
}
