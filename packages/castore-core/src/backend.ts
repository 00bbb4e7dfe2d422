// castore-core for backend authors (the `castore-core/backend` entry point): the base classes that
// carry the BlobService contract, the readers, address and option parsing, signal helpers and the
// chunking plumbing. Users of a store need only `castore-core` (./index.ts); the guide to writing a
// backend is in this package's README.
export * from "./address.js";
export { chunksOf, concatBytes, copyBytes, isDetached, splitBytes } from "./bytes.js";
export { validateChunkList } from "./chunking/chunk-list.js";
export { ChunkListSealer, sealOf } from "./chunking/chunk-list-seal.js";
export { ChunkSplitter, type ChunkSplitterOptions, type SplitChunk } from "./chunking/chunk-splitter.js";
export {
  type ChunkCut,
  chunkSizesFor,
  DEFAULT_AVG_CHUNK_SIZE,
  FastCdcChunker,
  type FastCdcOptions,
  MAX_AVG_CHUNK_SIZE,
  MIN_AVG_CHUNK_SIZE,
  validateFastCdcOptions,
} from "./chunking/fastcdc.js";
export { ForwardingBlobReader, ForwardingBlobService, ForwardingBlobWriter } from "./forwarding.js";
export { createStreamHasher } from "./hashing/hash.js";
export type { StreamHasher } from "./hashing/stream-hasher.js";
export {
  checkInteger,
  checkOptionalInteger,
  describeIntegerRange,
  isIntegerInRange,
} from "./integers.js";
export { BaseBlobReader } from "./readers/base-reader.js";
export type { OpenBlobStream } from "./readers/blob-stream-chunks.js";
export { BytesReader, type BytesReaderOptions, verifyBytes } from "./readers/bytes-reader.js";
export { type ChunkBytes, ChunkedReader, type ChunkedReaderOptions } from "./readers/chunked-reader.js";
export { ForwardSeeker, type ForwardSeekerOptions } from "./readers/forward-seeker.js";
export { iterateReader } from "./readers/iterate.js";
export { verifyStream } from "./readers/verify-stream.js";
export { SerialQueue } from "./serial.js";
export { BaseBlobService, toDigest } from "./service-base.js";
export { abortedError, raceAbort, throwIfAborted } from "./signal.js";
export { BaseBlobWriter } from "./writers/base-writer.js";
