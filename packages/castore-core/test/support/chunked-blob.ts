import { FastCdcChunker } from "../../src/backend.js";
import { type BlobReader, type ChunkMeta, digestOf } from "../../src/index.js";
import { xorshiftBytes } from "./xorshift.js";

/** A blob cut with FastCDC at small sizes (many chunks), and a store holding its chunks by digest. */
export async function chunkedBlob(length: number, seed = 7) {
  const data = xorshiftBytes(length, seed);
  const chunker = new FastCdcChunker({ minSize: 256, avgSize: 1024, maxSize: 4096 });
  const cuts = [...chunker.update(data), ...chunker.finish()];
  const store = new Map<string, Uint8Array>();
  const chunks: ChunkMeta[] = [];
  let start = 0;
  for (const cut of cuts) {
    const bytes = data.slice(start, cut.end);
    const digest = await digestOf(bytes);
    store.set(digest.toHex(), bytes);
    chunks.push({ digest, size: bytes.length });
    start = cut.end;
  }
  return { data, digest: await digestOf(data), chunks, store };
}

export type ChunkedBlob = Awaited<ReturnType<typeof chunkedBlob>>;

/** Whether two byte arrays hold the same bytes. */
export const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** What `promise` rejects with (undefined when it fulfils). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

/** Reads `length` bytes (fewer at the end) from where the reader stands. */
export async function readBytes(reader: BlobReader, length: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let left = length;
  while (left > 0) {
    const part = await reader.read({ maxBytes: left });
    if (!part) break;
    parts.push(part);
    left -= part.length;
  }
  return Buffer.concat(parts);
}
