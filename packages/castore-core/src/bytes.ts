import { InvalidArgumentError, TooLargeError } from "./errors.js";
import { checkInteger } from "./integers.js";
import { raceAbort, type SignalOptions, throwIfAborted } from "./signal.js";
import type { BytesInput } from "./types.js";

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array> {
  return typeof (value as AsyncIterable<Uint8Array>)?.[Symbol.asyncIterator] === "function";
}

/** Iterates any accepted input shape as chunks, checking each is a Uint8Array and honouring the signal. */
export async function* chunksOf(input: BytesInput, options?: SignalOptions): AsyncGenerator<Uint8Array> {
  const signal = options?.signal;
  throwIfAborted(signal);
  if (input instanceof Uint8Array) {
    yield input;
    return;
  }
  if (!isAsyncIterable(input) && typeof (input as Iterable<Uint8Array>)?.[Symbol.iterator] !== "function") {
    throw new InvalidArgumentError("expected a Uint8Array or an (async) iterable of Uint8Array");
  }
  for await (const chunk of signal && isAsyncIterable(input) ? untilAborted(input, signal) : input) {
    throwIfAborted(signal);
    if (!(chunk instanceof Uint8Array)) {
      throw new InvalidArgumentError(`expected Uint8Array chunks, got ${chunk === null ? "null" : typeof chunk}`);
    }
    yield chunk;
  }
}

/**
 * An async source whose every step is raced against `signal`, so an abort ends the iteration even
 * while the source is stalled (a hung upload): `for await` alone would wait for its next chunk forever.
 */
async function* untilAborted<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      const next = await raceAbort(iterator.next(), signal);
      if (next.done) {
        finished = true;
        return;
      }
      yield next.value;
    }
  } finally {
    // Stopped early: tell the source, without waiting for a stalled one to acknowledge.
    if (!finished) Promise.resolve(iterator.return?.()).catch(() => {});
  }
}

/** Joins chunks into one array. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  let total = 0;
  for (const chunk of chunks) total += chunk.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

export interface ReadAllOptions extends SignalOptions {
  /** Fail with a `TooLarge` error rather than collect more than this many bytes. */
  maxBytes?: number | undefined;
}

/** Collects a byte input (for example a reader) into one Uint8Array. */
export async function readAll(input: BytesInput, options?: ReadAllOptions): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const limit = options?.maxBytes ?? Number.POSITIVE_INFINITY;
  for await (const chunk of chunksOf(input, options)) {
    total += chunk.length;
    if (total > limit) throw new TooLargeError(`more than ${limit} bytes`);
    chunks.push(chunk);
  }
  return chunks.length === 0 ? new Uint8Array(0) : concatBytes(chunks);
}

/** A web ReadableStream over chunks (byte-oriented consumers such as `Response` accept it). */
export function toReadableStream(input: BytesInput): ReadableStream<Uint8Array> {
  const iterator = chunksOf(input);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      } catch (error) {
        controller.error(error);
      }
    },
    async cancel(reason) {
      await iterator.return(reason);
    },
  });
}

/** Chunks of a web ReadableStream, as an async iterable (works where streams are not async-iterable). */
export async function* fromReadableStream(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * A copy of `bytes[start, end)` as a plain Uint8Array. Not `bytes.slice()`: on a Node Buffer (a
 * Uint8Array subclass callers pass all the time) `slice` returns a view, so a "copy" kept that way
 * changes when the caller reuses its buffer.
 */
export function copyBytes(bytes: Uint8Array, start = 0, end = bytes.length): Uint8Array {
  return new Uint8Array(bytes.subarray(start, end));
}

/** Splits bytes into pieces of at most `size` bytes, without copying. */
export function* splitBytes(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  checkInteger("piece size", size);
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

/**
 * Whether `bytes` lies in shared memory. (A page that is not cross-origin isolated has no
 * SharedArrayBuffer at all.)
 */
export function isShared(bytes: Uint8Array): boolean {
  return typeof SharedArrayBuffer !== "undefined" && bytes.buffer instanceof SharedArrayBuffer;
}

/** Whether `bytes` lost its memory: moved to another thread (transferred), so it reads as empty. */
export function isDetached(bytes: Uint8Array): boolean {
  return !isShared(bytes) && (bytes.buffer as ArrayBuffer).detached;
}
