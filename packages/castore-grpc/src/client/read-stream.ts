import { BlobChunkFrameDecoder } from "../wire/frames.js";
import { fromConnectError } from "../wire/status.js";

/**
 * The blob bytes of a Read response, as views into the received data (see wire/frames.ts), with
 * failures as castore errors. Hand-written rather than a chain of async generators: a 1 GiB blob
 * arrives as 65 536 pieces of 16 KiB, and every generator layer costs a few promise turns a piece.
 * The pieces are not gathered into larger buffers: fresh buffers of a MiB cost more (page faults,
 * and garbage collections driven by external memory) than hashing 16 KiB at a time does.
 */
export class ReadStream implements AsyncIterableIterator<Uint8Array> {
  readonly #body: AsyncIterator<Uint8Array[]>;
  readonly #decoder: BlobChunkFrameDecoder;
  #pieces: Uint8Array[] = [];
  #next = 0;
  #ended = false;

  /** `body`: the response bytes in batches (GrpcClientCall.batches()). */
  constructor(body: AsyncIterable<Uint8Array[]>, maxMessageBytes: number) {
    this.#body = body[Symbol.asyncIterator]();
    this.#decoder = new BlobChunkFrameDecoder(maxMessageBytes);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Waits for the first bytes (or the end): a Read answers NOT_FOUND before any. */
  async started(): Promise<void> {
    await this.#fill();
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    if (this.#next < this.#pieces.length || (await this.#fill())) {
      return { value: this.#pieces[this.#next++] as Uint8Array, done: false };
    }
    return { value: undefined, done: true };
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    this.#ended = true;
    this.#pieces = [];
    await this.#body.return?.();
    return { value: undefined, done: true };
  }

  /** Makes a piece available; false at the end of the response. */
  async #fill(): Promise<boolean> {
    try {
      while (this.#next >= this.#pieces.length) {
        if (this.#ended) return false;
        const received = await this.#body.next();
        if (received.done) {
          this.#ended = true;
          this.#decoder.end();
          return false;
        }
        const pieces: Uint8Array[] = [];
        for (const chunk of received.value) this.#decoder.pushInto(chunk, pieces);
        this.#pieces = pieces;
        this.#next = 0;
      }
      return true;
    } catch (error) {
      this.#ended = true;
      await this.#body.return?.().catch(() => {});
      throw fromConnectError(error, "Read");
    }
  }
}
