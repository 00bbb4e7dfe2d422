import { type BlobReader, InvalidArgumentError } from "castore-core";
import { type CommandLine, stringOption } from "./args.js";
import { UsageError } from "./errors.js";
import { BLOB_READ_BYTES } from "./read-size.js";

/** A byte range of a blob: from `offset`, at most `length` bytes (to the end when undefined). */
export interface ByteRange {
  readonly offset: number;
  readonly length: number | undefined;
}

/** The range given with --offset / --length, or undefined when neither is. */
export function rangeOption(line: CommandLine): ByteRange | undefined {
  const offset = byteCount(line, "offset");
  const length = byteCount(line, "length");
  if (offset === undefined && length === undefined) return undefined;
  return { offset: offset ?? 0, length };
}

function byteCount(line: CommandLine, name: string): number | undefined {
  const text = stringOption(line, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new UsageError(`--${name} must be a whole number of bytes, got '${text}'`);
  }
  return value;
}

/** How many bytes `range` covers in a blob of `size` bytes (undefined when the size is unknown). */
export function rangeSize(range: ByteRange, size: number | undefined): number | undefined {
  if (size === undefined) return undefined;
  const available = Math.max(size - range.offset, 0);
  return range.length === undefined ? available : Math.min(range.length, available);
}

/**
 * The bytes of `range`, in order, each piece handed out only once it is proven to belong to the
 * blob. A seekable reader proves what it hands out (a chunked blob per chunk, a one-piece blob as a
 * whole), so the range is read directly. A forward-only stream (a store that sends no chunk list)
 * proves nothing before its end: the whole blob is read, the range kept, and yielded after the
 * verified end, so a corrupt blob yields nothing.
 */
export async function* readRange(
  reader: BlobReader,
  range: ByteRange,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const { offset } = range;
  const end = range.length === undefined ? Number.POSITIVE_INFINITY : offset + range.length;
  if (reader.size !== undefined && offset > reader.size) {
    throw new InvalidArgumentError(`--offset ${offset} is past the end of the blob (${reader.size} bytes)`);
  }
  if (end === offset) return;
  if (reader.seekable) {
    await reader.seek(offset, "start", { signal });
    for (let position = offset; position < end; ) {
      const chunk = await reader.read({ maxBytes: Math.min(end - position, BLOB_READ_BYTES), signal });
      if (chunk === undefined) return;
      position += chunk.length;
      yield chunk;
    }
    return;
  }
  const kept: Uint8Array[] = [];
  for (let position = 0; ; ) {
    const chunk = await reader.read({ signal });
    if (chunk === undefined) break;
    const from = Math.max(offset - position, 0);
    const to = Math.min(end - position, chunk.length);
    if (from < to) kept.push(chunk.subarray(from, to));
    position += chunk.length;
  }
  const size = kept.reduce((sum, piece) => sum + piece.length, 0);
  if (size === 0 && offset > 0 && reader.position < offset) {
    throw new InvalidArgumentError(`--offset ${offset} is past the end of the blob (${reader.position} bytes)`);
  }
  yield* kept;
}
