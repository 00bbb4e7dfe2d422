import type { Readable } from "node:stream";

/** What GetObject hands back as its body: a Node stream with the SDK's helpers mixed in. */
export interface ResponseBody {
  transformToByteArray(): Promise<Uint8Array>;
}

/**
 * Reads a GetObject body into one buffer of the announced length. The SDK's `transformToByteArray`
 * pipes the response through a Writable and then joins the pieces into a fresh zero-filled array:
 * per 256 KiB chunk object a stream pipeline, a second copy and a page-faulting allocation, a
 * measurable share of a read's CPU (see the package's bench). Here each piece the HTTP parser
 * emits is copied once, straight to its place.
 *
 * Without a usable Content-Length (an S3-compatible service may stream chunked), or when the body
 * is not a Node stream, it falls back to the SDK's own collector. A body that ends short of the
 * announced length, or runs past it, is an error (a dropped connection), never a short object.
 */
export function readBody(body: ResponseBody, length: number | undefined): Promise<Uint8Array> {
  const stream = body as unknown as Readable;
  if (length === undefined || !Number.isSafeInteger(length) || length < 0 || typeof stream.on !== "function") {
    return body.transformToByteArray();
  }
  return new Promise((resolve, reject) => {
    // Unsafe: every byte is overwritten before the buffer is handed on (checked below). Slow: never
    // a slice of Node's shared pool, since readers hand out views of what this returns.
    const buffer = Buffer.allocUnsafeSlow(length);
    const out = new Uint8Array(buffer.buffer, buffer.byteOffset, length);
    let filled = 0;
    const finish = (error: Error | undefined) => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
      stream.off("close", onClose);
      if (error) reject(error);
      else resolve(out);
    };
    const onData = (piece: Uint8Array) => {
      if (filled + piece.length > length) {
        stream.destroy();
        finish(new BodyLengthError(`the response body runs past its Content-Length of ${length} bytes`));
        return;
      }
      out.set(piece, filled);
      filled += piece.length;
    };
    const onEnd = () => {
      finish(
        filled === length
          ? undefined
          : new BodyLengthError(`the response body ended after ${filled} of its ${length} bytes`),
      );
    };
    const onError = (error: Error) => finish(error);
    // A destroyed stream (an aborted request) may close without an error or an end.
    const onClose = () => finish(new BodyLengthError(`the connection closed after ${filled} of ${length} bytes`));
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", onError);
    stream.on("close", onClose);
  });
}

/** A body shorter or longer than announced: the connection broke, so it is retried like a reset. */
export class BodyLengthError extends Error {
  override readonly name = "BodyLengthError";
  readonly code = "ECONNRESET";
}
