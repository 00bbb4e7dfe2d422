import { finished, type Readable } from "node:stream";

/**
 * The chunks a readable stream (an HTTP/2 request or response body) receives, handed over in
 * batches: everything that arrived since the consumer last asked. A blob arrives as DATA frames of
 * 16 KiB, 65 536 of them a GiB; a stream's own async iterator costs a few promise turns per
 * frame, and in paused mode it makes node stop and restart reading the stream at every frame
 * (its buffer holds 16 KiB). Here the stream flows, each frame costs one 'data' event and an array
 * push, and the consumer wakes once per batch.
 *
 * Backpressure: the stream is paused once `highWaterBytes` wait unread and resumed when the
 * consumer takes them, so HTTP/2 flow control (which acknowledges only what node delivered while
 * reading) still stops a sender the consumer cannot keep up with. Like a stream's async iterator,
 * the stream's error is thrown, a close before the end is an error, and stopping early (return,
 * or a throw in the consumer's loop) destroys the stream.
 */
export class ReceivedBatches implements AsyncIterableIterator<Uint8Array[]> {
  readonly #stream: Readable;
  readonly #highWaterBytes: number;
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  #ended = false;
  #failure: unknown;
  #wake: (() => void) | undefined;
  readonly #detach: () => void;

  constructor(stream: Readable, highWaterBytes: number) {
    this.#stream = stream;
    this.#highWaterBytes = highWaterBytes;
    const onData = (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#bytes += chunk.length;
      if (this.#bytes >= this.#highWaterBytes) stream.pause();
      this.#notify();
    };
    stream.on("data", onData);
    // The end, an error, or a close before the end (a failure), as a stream's own iterator sees them.
    const stopWatching = finished(stream, { writable: false }, (error) => {
      if (error) this.#failure ??= error;
      else this.#ended = true;
      this.#notify();
    });
    this.#detach = () => {
      stream.off("data", onData);
      stopWatching();
    };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The chunks received since the last call (at least one), or done at the end of the stream. */
  async next(): Promise<IteratorResult<Uint8Array[]>> {
    while (this.#chunks.length === 0 && !this.#ended && this.#failure === undefined) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    if (this.#chunks.length > 0) {
      const chunks = this.#chunks;
      this.#chunks = [];
      this.#bytes = 0;
      if (this.#stream.isPaused() && !this.#ended) this.#stream.resume();
      return { value: chunks, done: false };
    }
    this.#detach();
    if (this.#failure !== undefined) throw this.#failure;
    return { value: undefined, done: true };
  }

  /** Stops early: the stream is destroyed (as a stream's own async iterator does). */
  async return(): Promise<IteratorResult<Uint8Array[]>> {
    this.#chunks = [];
    this.#detach();
    if (!this.#ended) this.#stream.destroy();
    return { value: undefined, done: true };
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
