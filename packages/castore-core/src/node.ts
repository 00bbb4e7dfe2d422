/// <reference types="node" preserve="true" />
// Node-only edges (the `castore-core/node` entry point): Node streams and files in and out, chunks
// read and hashed in worker threads, and glibc's allocator tuned for moving large blobs.
import { Readable } from "node:stream";
import { chunksOf } from "./bytes.js";
import type { BytesInput } from "./types.js";

export { movableChunkBuffer, readFileChunk, sharedChunkBuffer } from "./file-chunk-reads.js";
export { type ReadFilePiecesOptions, readFilePieces } from "./file-pieces.js";
export { primeMallocThresholds } from "./malloc-thresholds.js";

/** A Node Readable over any accepted byte input (for example a BlobReader), for piping to files or sockets. */
export function toNodeReadable(input: BytesInput): Readable {
  return Readable.from(chunksOf(input), { objectMode: false });
}

/** Chunks of a Node Readable as Uint8Array (Readables are async-iterable; this narrows the type and rejects strings). */
export async function* fromNodeReadable(stream: NodeJS.ReadableStream): AsyncGenerator<Uint8Array> {
  for await (const chunk of stream) {
    if (typeof chunk === "string") throw new TypeError("expected a binary stream, got string chunks");
    yield chunk as Uint8Array;
  }
}
