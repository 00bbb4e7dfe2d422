import type { Writable } from "node:stream";

/** The reader of our stdout went away (`castore cat X | head -c 10`): stop quietly, not an error. */
export class BrokenPipeError extends Error {
  override readonly name = "BrokenPipeError";
}

/**
 * Writes chunks to a stream (stdout) with backpressure, and turns the stream's asynchronous 'error'
 * events into rejections of the next write, so EPIPE never becomes an uncaught exception.
 */
export class OutputSink {
  readonly #stream: Writable;
  #error: Error | undefined;
  readonly #onError = (error: Error) => {
    this.#error ??= (error as NodeJS.ErrnoException).code === "EPIPE" ? new BrokenPipeError(error.message) : error;
  };

  constructor(stream: Writable) {
    this.#stream = stream;
    stream.on("error", this.#onError);
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#error) throw this.#error;
    if (this.#stream.write(chunk)) return;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        this.#stream.off("drain", done);
        this.#stream.off("error", done);
        this.#stream.off("close", done);
        if (this.#error) reject(this.#error);
        else resolve();
      };
      this.#stream.on("drain", done);
      this.#stream.on("error", done);
      this.#stream.on("close", done);
    });
  }

  /** Resolves once everything written so far has been handed to the OS. */
  async flush(): Promise<void> {
    if (this.#error) throw this.#error;
    await new Promise<void>((resolve) => this.#stream.write(new Uint8Array(0), () => resolve()));
    if (this.#error) throw this.#error;
  }

  /** Stops listening for errors (the sink is done). Late EPIPEs are still swallowed. */
  release(): void {
    this.#stream.off("error", this.#onError);
    this.#stream.on("error", () => {});
  }
}
