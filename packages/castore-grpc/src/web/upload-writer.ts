import { type B3Digest, type Blake3Implementation, blake3, digestWith, IntegrityError } from "castore-core";
import { BaseBlobWriter, raceAbort } from "castore-core/backend";
import type { ChunkCutter } from "./cutter.js";

/** A chunk of the blob being uploaded: its digest and length. */
export interface UploadedChunk {
  readonly digest: B3Digest;
  readonly size: number;
}

/** The three calls a chunked upload makes. Each must honour its signal. */
export interface ChunkUploadCalls {
  /** Whether the server stores the blob (or chunk) already (Stat). */
  has(digest: B3Digest, signal: AbortSignal): Promise<boolean>;
  /** Stores one chunk as a blob (a single-message Put); fails unless the server stored it as `digest`. */
  put(bytes: Uint8Array, digest: B3Digest, signal: AbortSignal): Promise<void>;
  /** Makes the blob visible from its stored chunks (castore.v1.BlobUploadService/CommitChunked). */
  commit(digest: B3Digest, chunks: readonly UploadedChunk[], signal: AbortSignal): Promise<void>;
}

export interface ChunkedUploadWriterOptions {
  calls: ChunkUploadCalls;
  /** Cuts the bytes into chunks (castore-core's FastCDC; see cutter.ts). */
  cutter: ChunkCutter;
  /** Most chunks being checked or uploaded at once; the writer holds at most this many chunks plus one. */
  concurrency: number;
}

/**
 * A blob upload for clients that cannot stream a request body (browsers): the bytes are cut into
 * chunks; each chunk the server lacks is stored as a blob of its own with a one-message Put (a
 * chunk the server has, or one already sent for this blob, is not sent again); `close` then commits
 * the blob with its digest and chunk list, and the server checks both before the blob becomes
 * visible. A blob of one chunk (or none) is that chunk's Put, and nothing else.
 *
 * Uploads run while the caller writes, at most `concurrency` at once: `write` waits for a free slot,
 * so memory stays bounded whatever the blob's size. Aborting cancels the calls in flight; the blob
 * is not stored (its chunks sent so far may stay, as blobs of their own, like any unreferenced blob).
 * A cut from `update` always has a byte after it, so a one-chunk blob is only sent by `close`.
 */
export class ChunkedUploadWriter extends BaseBlobWriter {
  readonly #calls: ChunkUploadCalls;
  readonly #cutter: ChunkCutter;
  readonly #concurrency: number;
  readonly #cancel = new AbortController();
  /** Bytes not yet cut into a chunk (copies: the caller reuses its buffers). */
  #pending: Uint8Array[] = [];
  /** Input offset of the first pending byte. */
  #pendingStart = 0;
  readonly #chunks: UploadedChunk[] = [];
  /** Each distinct chunk's upload, by digest: repeated chunks are sent once. */
  readonly #uploads = new Map<string, Promise<void>>();
  readonly #inFlight = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;
  #blake3: Blake3Implementation | undefined;

  constructor(options: ChunkedUploadWriterOptions) {
    super();
    this.#calls = options.calls;
    this.#cutter = options.cutter;
    this.#concurrency = options.concurrency;
  }

  protected async writeChunk(chunk: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    this.#throwIfFailed();
    this.#pending.push(chunk.slice());
    for (const cut of this.#cutter.update(chunk)) await this.#cutAt(cut.end, signal);
  }

  protected async commit(digest: B3Digest, _size: number, signal: AbortSignal | undefined): Promise<void> {
    for (const cut of this.#cutter.finish()) await this.#cutAt(cut.end, signal);
    if (this.#chunks.length === 0) {
      // The empty blob: a Put of no bytes.
      await this.#upload(new Uint8Array(0), digest, signal);
    }
    await raceAbort(Promise.all(this.#uploads.values()), signal);
    this.#throwIfFailed();
    const only = this.#chunks.length === 1 ? this.#chunks[0] : undefined;
    if (only) {
      // One chunk: it is the blob, stored by its Put.
      if (!only.digest.equals(digest))
        throw new IntegrityError(`the one chunk ${only.digest} is not the blob ${digest}`);
      return;
    }
    if (this.#chunks.length > 1) await this.#calls.commit(digest, this.#chunks, this.#signal(signal));
  }

  protected discard(): void {
    this.#cancel.abort();
    this.#pending = [];
  }

  /** Takes the pending bytes up to input offset `end` as the next chunk and starts its upload. */
  async #cutAt(end: number, signal: AbortSignal | undefined): Promise<void> {
    const bytes = new Uint8Array(end - this.#pendingStart);
    let filled = 0;
    while (filled < bytes.length) {
      const piece = this.#pending[0] as Uint8Array;
      const take = Math.min(piece.length, bytes.length - filled);
      bytes.set(piece.subarray(0, take), filled);
      filled += take;
      if (take === piece.length) this.#pending.shift();
      else this.#pending[0] = piece.subarray(take);
    }
    this.#pendingStart = end;
    this.#blake3 ??= await blake3();
    const digest = digestWith(this.#blake3, bytes);
    this.#chunks.push({ digest, size: bytes.length });
    await this.#upload(bytes, digest, signal);
  }

  /** Starts the chunk's upload unless it is under way already; waits first while all slots are busy. */
  async #upload(bytes: Uint8Array, digest: B3Digest, signal: AbortSignal | undefined): Promise<void> {
    const key = digest.toString();
    if (this.#uploads.has(key)) return;
    while (this.#inFlight.size >= this.#concurrency) {
      await raceAbort(Promise.race(this.#inFlight), signal);
      this.#throwIfFailed();
    }
    const callSignal = this.#signal(undefined);
    const upload = (async () => {
      if (!(await this.#calls.has(digest, callSignal))) await this.#calls.put(bytes, digest, callSignal);
    })().then(
      () => {
        this.#inFlight.delete(upload);
      },
      (error: unknown) => {
        this.#inFlight.delete(upload);
        this.#failure ??= { error };
      },
    );
    this.#uploads.set(key, upload);
    this.#inFlight.add(upload);
  }

  #signal(signal: AbortSignal | undefined): AbortSignal {
    return signal ? AbortSignal.any([signal, this.#cancel.signal]) : this.#cancel.signal;
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }
}
