import type { B3Digest } from "../digest.js";
import { AbortedError, IntegrityError } from "../errors.js";
import { abortedError } from "../signal.js";

/**
 * Opens a stream of a whole blob's bytes (unverified), or resolves to undefined when the store does
 * not have the blob. Firing the signal cancels the stream at any point, not only while opening.
 */
export type OpenBlobStream = (signal: AbortSignal) => Promise<AsyncIterable<Uint8Array> | undefined>;

/** A chunk claimed from the stream, waiting for its bytes. */
interface Claim {
  readonly size: number;
  readonly signal: AbortSignal;
  resolve(pieces: Uint8Array[]): void;
  reject(error: unknown): void;
}

/**
 * Serves a chunked blob's chunks, in order from the first, out of one stream of the whole blob cut
 * at the chunk boundaries. Where every fetch is a round trip (a remote server: a Read call per
 * chunk), a read from the start then costs one call, not one per chunk.
 *
 * Chunks are claimed in order. A claim for any other chunk is refused (the caller fetches that chunk
 * on its own), and so is every claim once the source is retired. The stream is opened on the first
 * claim and read only as far as the claims go, so memory stays with the caller's read-ahead. Nothing
 * is verified here: the caller checks each chunk as it checks a chunk fetched on its own.
 *
 * A claim that is abandoned (its signal fires) while a later one still waits is read and thrown
 * away, to keep the stream's place; once every waiting claim is abandoned, the stream is cancelled.
 */
export class BlobStreamChunks {
  readonly #digest: B3Digest;
  readonly #open: OpenBlobStream;
  readonly #chunkCount: number;
  readonly #controller = new AbortController();
  readonly #claims: Claim[] = [];
  #iterator: AsyncIterator<Uint8Array> | undefined;
  /** What the stream delivered past the end of the last chunk served. */
  #leftover: Uint8Array | undefined;
  /** The index of the chunk the next claim must be for. */
  #next = 0;
  #accepting = true;
  #pumping = false;
  #closed = false;

  constructor(digest: B3Digest, chunkCount: number, open: OpenBlobStream) {
    this.#digest = digest;
    this.#chunkCount = chunkCount;
    this.#open = open;
  }

  /**
   * Claims chunk `index` (of `size` bytes): its bytes as they came from the stream, in order, or
   * undefined when this source cannot serve it (not the next chunk, or retired). `signal` abandons
   * the claim.
   */
  take(index: number, size: number, signal: AbortSignal): Promise<Uint8Array[]> | undefined {
    if (!this.#accepting || index !== this.#next) return undefined;
    this.#next++;
    const bytes = new Promise<Uint8Array[]>((resolve, reject) => {
      this.#claims.push({ size, signal, resolve, reject });
    });
    signal.addEventListener("abort", () => this.#closeIfUnneeded(), { once: true });
    void this.#pump();
    return bytes;
  }

  /** Takes no new claims, and cancels the stream once the claims already made are served or abandoned. */
  retire(): void {
    this.#accepting = false;
    this.#closeIfUnneeded();
  }

  /** Cancels the stream; waiting claims fail with an `Aborted` error. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#accepting = false;
    this.#leftover = undefined;
    this.#controller.abort();
    for (const claim of this.#claims.splice(0)) {
      claim.reject(claim.signal.aborted ? abortedError(claim.signal) : new AbortedError("the blob stream was closed"));
    }
  }

  #closeIfUnneeded(): void {
    const unneeded = this.#claims.length === 0 ? !this.#accepting : this.#claims.every((claim) => claim.signal.aborted);
    if (unneeded) this.close();
  }

  /** Serves the claims in order while there are any; one pump runs at a time. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#claims.length > 0 && !this.#closed) {
        const claim = this.#claims[0] as Claim;
        let pieces: Uint8Array[];
        try {
          pieces = await this.#read(claim.size);
        } catch (error) {
          this.#fail(error);
          return;
        }
        this.#claims.shift();
        if (claim.signal.aborted) claim.reject(abortedError(claim.signal));
        else claim.resolve(pieces);
        // The claims left may all be abandoned already: their aborts came while this one was still
        // wanted, so nothing cancelled the stream then. Reading their bytes would only throw them away.
        if (this.#claims.length > 0) this.#closeIfUnneeded();
      }
    } finally {
      this.#pumping = false;
    }
    if (this.#next === this.#chunkCount && this.#claims.length === 0) void this.#finish();
    else if (!this.#accepting) this.#closeIfUnneeded();
  }

  /** `size` bytes from where the stream stands, as the pieces it delivered (cut at the boundary). */
  async #read(size: number): Promise<Uint8Array[]> {
    this.#iterator ??= await this.#start();
    const pieces: Uint8Array[] = [];
    let left = size;
    while (left > 0) {
      let piece = this.#leftover;
      this.#leftover = undefined;
      if (piece === undefined) {
        const next = await this.#iterator.next();
        if (next.done) {
          throw new IntegrityError(
            `blob ${this.#digest} is corrupt: the store's stream of it is shorter than its chunks`,
          );
        }
        piece = next.value;
      }
      if (piece.length > left) {
        this.#leftover = piece.subarray(left);
        piece = piece.subarray(0, left);
      }
      if (piece.length > 0) pieces.push(piece);
      left -= piece.length;
    }
    return pieces;
  }

  async #start(): Promise<AsyncIterator<Uint8Array>> {
    const stream = await this.#open(this.#controller.signal);
    if (stream === undefined) {
      throw new IntegrityError(`blob ${this.#digest} is incomplete: the store no longer has it`);
    }
    return stream[Symbol.asyncIterator]();
  }

  /**
   * After the last chunk: lets the stream end on its own (a remote call then completes instead of
   * being cancelled). Whatever it still says is of no consequence: every byte handed out has been
   * served, and the reader proves them against the digests. Trailing bytes cancel it.
   */
  async #finish(): Promise<void> {
    try {
      const ended = this.#leftover === undefined && (await this.#iterator?.next())?.done === true;
      if (!ended) this.close();
      // Ended on its own: nothing left to cancel (and a late close() must not cancel it).
      else this.#closed = true;
    } catch {
      this.close();
    }
  }

  /** The stream failed: every waiting claim fails with its error, and the source takes no more. */
  #fail(error: unknown): void {
    this.#accepting = false;
    for (const claim of this.#claims.splice(0)) {
      claim.reject(claim.signal.aborted ? abortedError(claim.signal) : error);
    }
    this.close();
  }
}
