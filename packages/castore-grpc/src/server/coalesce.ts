/**
 * Gathers small chunks into pieces of `size` bytes (the last may be shorter). HTTP/2 delivers an
 * upload in DATA frames of 16 KiB; handing each to the blob writer costs a hashing call and a
 * backend write apiece, which dominates a large upload. Gathering costs one copy into a buffer
 * that is reused: each piece is a view of it, valid until the consumer asks for the next one
 * (which is what a BlobWriter needs: it copies what it keeps before `write` resolves).
 */
export async function* coalesce(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let buffer: Uint8Array | undefined;
  let filled = 0;
  for await (const chunk of source) {
    if (filled === 0 && chunk.length >= size) {
      yield chunk; // already big enough: no copy
      continue;
    }
    let offset = 0;
    while (offset < chunk.length) {
      buffer ??= new Uint8Array(size);
      const take = Math.min(size - filled, chunk.length - offset);
      buffer.set(chunk.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === size) {
        yield buffer;
        filled = 0;
      }
    }
  }
  if (filled > 0 && buffer) yield buffer.subarray(0, filled);
}
