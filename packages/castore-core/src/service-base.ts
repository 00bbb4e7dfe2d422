import { type ChunkMeta, validateChunkList } from "./chunking/chunk-list.js";
import { B3Digest } from "./digest.js";
import { ClosedError, InvalidDigestError } from "./errors.js";
import { onFinished, reportsFinish } from "./lifecycle.js";
import { type SignalOptions, throwIfAborted } from "./signal.js";
import type { BlobReader, BlobService, BlobWriter } from "./types.js";

/** What callers may pass where a digest is expected (JavaScript callers are not type-checked). */
export type DigestLike = B3Digest | Uint8Array | string;

/** Turns a caller's digest argument into a B3Digest, or throws an `InvalidDigest` error naming the problem. */
export function toDigest(value: DigestLike): B3Digest {
  if (value instanceof B3Digest) return value; // from any copy of castore-core (B3Digest's brand)
  if (value instanceof Uint8Array || typeof value === "string") return B3Digest.from(value);
  throw new InvalidDigestError(`expected a B3Digest, got ${value === null ? "null" : typeof value}`);
}

/**
 * The public-method plumbing every backend shares: argument checks, signal checks, the closed
 * state, and finishing what is still open when the service closes. Backends implement the
 * protected `…Impl` methods and receive a validated digest and a live signal.
 *
 * Closing the service aborts writers that were not closed (they store nothing) and closes readers
 * that are still referenced. An open that was in flight when the service closed finishes its handle
 * and fails with a `Closed` error, so no caller ever holds a live handle on a closed service.
 */
export abstract class BaseBlobService implements BlobService {
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Unfinished writers, held strongly: a dropped writer must still be aborted on close. */
  readonly #writers = new Set<BlobWriter>();
  /** Unfinished readers, held weakly: a reader read to the end and dropped must not pin memory. */
  readonly #readers = new Set<WeakRef<BlobReader>>();
  readonly #forgetCollected = new FinalizationRegistry<WeakRef<BlobReader>>((ref) => this.#readers.delete(ref));

  protected abstract hasImpl(digest: B3Digest, signal: AbortSignal | undefined): Promise<boolean>;
  protected abstract openReadImpl(digest: B3Digest, signal: AbortSignal | undefined): Promise<BlobReader | undefined>;
  protected abstract openWriteImpl(signal: AbortSignal | undefined): Promise<BlobWriter>;
  /**
   * The blob's chunk list. The default suits a backend that never chunks: `[]` (one piece) when the
   * blob is there, `undefined` when it is not. Chunking backends override it.
   */
  protected async chunksImpl(digest: B3Digest, signal: AbortSignal | undefined): Promise<ChunkMeta[] | undefined> {
    return (await this.hasImpl(digest, signal)) ? [] : undefined;
  }
  /** Releases the backend's own resources, after every reader and writer it handed out is finished. */
  protected closeImpl(): Promise<void> | void {}

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  async has(digest: DigestLike, options?: SignalOptions): Promise<boolean> {
    const checked = this.#enter(digest, options);
    return this.#whileOpen(() => this.hasImpl(checked, options?.signal));
  }

  async openRead(digest: DigestLike, options?: SignalOptions): Promise<BlobReader | undefined> {
    const checked = this.#enter(digest, options);
    const reader = await this.#whileOpen(() => this.openReadImpl(checked, options?.signal));
    if (!reader) return undefined;
    if (this.#closed) {
      await reader.close().catch(() => {});
      throw new ClosedError("blob service was closed while the blob was being opened");
    }
    // Readers and writers on core's base classes report when they finish (from any copy of core).
    if (reportsFinish(reader)) {
      const ref = new WeakRef(reader);
      this.#readers.add(ref);
      this.#forgetCollected.register(reader, ref, ref);
      onFinished(reader, () => {
        this.#readers.delete(ref);
        this.#forgetCollected.unregister(ref);
      });
    }
    return reader;
  }

  async chunks(digest: DigestLike, options?: SignalOptions): Promise<ChunkMeta[] | undefined> {
    const checked = this.#enter(digest, options);
    const chunks = await this.#whileOpen(() => this.chunksImpl(checked, options?.signal));
    // A backend's list is checked before it reaches a caller (32-byte digests, positive sizes).
    return chunks === undefined ? undefined : validateChunkList(chunks);
  }

  async openWrite(options?: SignalOptions): Promise<BlobWriter> {
    this.#assertOpen();
    throwIfAborted(options?.signal);
    const writer = await this.#whileOpen(() => this.openWriteImpl(options?.signal));
    if (this.#closed) {
      await writer.abort(new ClosedError("service closed")).catch(() => {});
      throw new ClosedError("blob service was closed while the writer was being opened");
    }
    if (reportsFinish(writer)) {
      this.#writers.add(writer);
      onFinished(writer, () => this.#writers.delete(writer));
    }
    return writer;
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      const readers = [...this.#readers].flatMap((ref) => ref.deref() ?? []);
      await Promise.allSettled([
        // Writers that were never closed are aborted: they must not leave a blob behind.
        ...[...this.#writers].map((writer) => writer.abort(new ClosedError("service closed"))),
        ...readers.map((reader) => reader.close()),
      ]);
      this.#writers.clear();
      this.#readers.clear();
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

  /** Runs backend work; if the service closed meanwhile, its failure is reported as `Closed`. */
  async #whileOpen<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (this.#closed) throw new ClosedError("blob service was closed during the operation", { cause: error });
      throw error;
    }
  }
}
