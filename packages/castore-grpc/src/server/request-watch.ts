import type * as http from "node:http";
import type * as http2 from "node:http2";

type Request = http.IncomingMessage | http2.Http2ServerRequest;

/**
 * Notices a request body that stops arriving: when none of its bytes come for `timeoutMs` (and it
 * has not ended), `onStall` runs once. Waiting on the server's side (for the byte budget) is not
 * the client's fault: `pause()` stops the clock until `resume()`.
 *
 * Both of Node's request types receive their body through `push()` (the HTTP/1.1 parser and the
 * HTTP/2 compatibility layer call it for every piece), whoever consumes it and however: watching
 * there covers Connect's own body reading as well as castore's native calls.
 *
 * With `wholeBody`, bytes do not restart the clock: the whole body must arrive within `timeoutMs`.
 * That is for requests of a few bytes (health checks), whose clients could otherwise hold their
 * places by trickling a byte at a time.
 */
export class StallWatch {
  readonly #timeoutMs: number;
  readonly #onStall: () => void;
  #timer: NodeJS.Timeout | undefined;
  #paused = 0;
  #done = false;

  constructor(request: Request, timeoutMs: number, onStall: () => void, { wholeBody = false } = {}) {
    this.#timeoutMs = timeoutMs;
    this.#onStall = onStall;
    const push = request.push.bind(request);
    request.push = (chunk: unknown, encoding?: BufferEncoding) => {
      if (chunk === null) this.stop();
      else if (!wholeBody) this.#arm();
      return push(chunk, encoding);
    };
    if (request.complete || request.readableEnded) this.stop();
    else this.#arm();
  }

  /** The server waits (not the client): stop the clock. Nested calls need as many `resume()`s. */
  pause(): void {
    this.#paused++;
    clearTimeout(this.#timer);
  }

  resume(): void {
    if (--this.#paused === 0) this.#arm();
  }

  /** The body ended or the call is over. */
  stop(): void {
    this.#done = true;
    clearTimeout(this.#timer);
  }

  #arm(): void {
    clearTimeout(this.#timer);
    if (this.#done || this.#paused > 0) return;
    this.#timer = setTimeout(() => {
      this.#done = true;
      this.#onStall();
    }, this.#timeoutMs);
    this.#timer.unref();
  }
}
