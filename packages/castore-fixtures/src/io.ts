import type { B3Digest, BlobReader, BlobService } from "castore-core";
import { concatBytes } from "castore-core/backend";
import { ConformanceFailure, check } from "./assertions.js";

/**
 * Reads exactly `length` bytes through `read({ maxBytes })`, checking that the reader never returns
 * more than asked and never an empty chunk. Fails if the blob ends first.
 */
export async function readExact(reader: BlobReader, length: number, signal?: AbortSignal): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let got = 0;
  while (got < length) {
    const maxBytes = length - got;
    const chunk = await reader.read({ maxBytes, signal });
    if (chunk === undefined) {
      throw new ConformanceFailure(`the reader ended after ${got} of ${length} requested bytes`);
    }
    checkChunk(chunk, maxBytes);
    chunks.push(chunk);
    got += chunk.length;
  }
  return concatBytes(chunks);
}

/** Reads from the current position to the end with plain `read()` calls. */
export async function readToEnd(reader: BlobReader, maxBytes?: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (;;) {
    const chunk = await reader.read(maxBytes === undefined ? undefined : { maxBytes });
    if (chunk === undefined) return chunks.length === 0 ? new Uint8Array(0) : concatBytes(chunks);
    checkChunk(chunk, maxBytes ?? Number.POSITIVE_INFINITY);
    chunks.push(chunk);
  }
}

/**
 * Reads from the current position to the end with `read({ into })`, two buffers of `size` bytes in
 * turn, as a caller that recycles its buffers does: each result is copied, then both it and the
 * buffer are overwritten before the next read (the caller may reuse `into` once a read settled).
 */
export async function readToEndInto(reader: BlobReader, size: number): Promise<Uint8Array> {
  const buffers = [new Uint8Array(size), new Uint8Array(size)];
  const chunks: Uint8Array[] = [];
  for (let turn = 0; ; turn ^= 1) {
    const into = buffers[turn] as Uint8Array;
    const chunk = await reader.read({ into });
    if (chunk === undefined) return chunks.length === 0 ? new Uint8Array(0) : concatBytes(chunks);
    checkChunk(chunk, size);
    // A copy (a Buffer's slice() would be a view).
    chunks.push(new Uint8Array(chunk));
    chunk.fill(0x5a);
    into.fill(0xa5);
  }
}

function checkChunk(chunk: unknown, maxBytes: number): asserts chunk is Uint8Array {
  check(chunk instanceof Uint8Array, `read() must return a Uint8Array or undefined, got ${typeof chunk}`);
  check(chunk.length > 0, "read() returned an empty chunk; the end of a blob is signalled by undefined");
  check(chunk.length <= maxBytes, `read({ maxBytes: ${maxBytes} }) returned ${chunk.length} bytes`);
}

/** Opens a reader and fails (rather than returning undefined) when the blob is absent. */
export async function openPresent(service: BlobService, digest: B3Digest): Promise<BlobReader> {
  const reader = await service.openRead(digest);
  if (reader === undefined) throw new ConformanceFailure(`openRead(${digest}) returned undefined for a stored blob`);
  return reader;
}

/** The whole blob, read with a fresh reader. */
export async function readBlob(service: BlobService, digest: B3Digest, maxBytes?: number): Promise<Uint8Array> {
  const reader = await openPresent(service, digest);
  try {
    return await readToEnd(reader, maxBytes);
  } finally {
    await reader.close();
  }
}

/** Writes `pieces` with one `write` call each and closes the writer. */
export async function writePieces(service: BlobService, pieces: Iterable<Uint8Array>): Promise<B3Digest> {
  const writer = await service.openWrite();
  try {
    for (const piece of pieces) await writer.write(piece);
    return await writer.close();
  } catch (error) {
    await writer.abort(error);
    throw error;
  }
}

/** Stores bytes in one write. */
export function put(service: BlobService, data: Uint8Array): Promise<B3Digest> {
  return writePieces(service, [data]);
}

/** Splits `bytes` into consecutive pieces whose sizes cycle through `sizes` (views, no copies). */
export function* piecesOf(bytes: Uint8Array, sizes: readonly number[]): Generator<Uint8Array> {
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length] as number;
    yield bytes.subarray(offset, offset + size);
    offset += size;
  }
}
