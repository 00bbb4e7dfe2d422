export * from "./address.js";
export { getBlob, putBlob } from "./blobs.js";
export {
  chunksOf,
  concatBytes,
  fromReadableStream,
  type ReadAllOptions,
  readAll,
  splitBytes,
  toReadableStream,
} from "./bytes.js";
export { type ChunkMeta, validateChunkList } from "./chunking/chunk-list.js";
export { ChunkSplitter, type SplitChunk } from "./chunking/chunk-splitter.js";
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
export {
  type ConfigContext,
  type ConfigTable,
  type ConfigValue,
  type OpenStoreConfigOptions,
  openStoreConfig,
} from "./config.js";
export { B3Digest } from "./digest.js";
export * from "./errors.js";
export type { Blake3Hasher, Blake3Implementation } from "./hashing/blake3.js";
export { blake3, createBlake3Hasher, digestOf, digestWith } from "./hashing/hash.js";
export { type BlobLister, canListBlobs } from "./listing.js";
export { BaseBlobReader } from "./readers/base-reader.js";
export { BytesReader, type BytesReaderOptions, verifyBytes } from "./readers/bytes-reader.js";
export { type ChunkBytes, ChunkedReader, type ChunkedReaderOptions } from "./readers/chunked-reader.js";
export { ForwardSeeker, type ForwardSeekerOptions } from "./readers/forward-seeker.js";
export { iterateReader } from "./readers/iterate.js";
export { verifyStream } from "./readers/verify-stream.js";
export {
  type BlobServiceBackend,
  BlobServiceRegistry,
  defaultRegistry,
  fromAddr,
  type OpenOptions,
  register,
} from "./registry.js";
export { SerialQueue } from "./serial.js";
export { BaseBlobService, type DigestLike, toDigest } from "./service-base.js";
export { abortedError, raceAbort, type SignalOptions, throwIfAborted } from "./signal.js";
export type { BlobReader, BlobService, BlobWriter, BytesInput, ReadOptions, SeekOrigin } from "./types.js";
export { BaseBlobWriter } from "./writers/base-writer.js";
