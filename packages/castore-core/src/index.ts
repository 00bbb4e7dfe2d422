// castore-core for users of a store: digests, errors, the BlobService types, the URL registry,
// whole-blob helpers and hashing. What a backend author needs beyond this (base classes, readers,
// address and signal helpers, chunking) is in the `castore-core/backend` entry point (./backend.ts).
export { getBlob, putBlob } from "./blobs.js";
export { fromReadableStream, type ReadAllOptions, readAll, toReadableStream } from "./bytes.js";
export type { ChunkMeta } from "./chunking/chunk-list.js";
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
export { ReadBuffers } from "./read-buffers.js";
export {
  type BlobServiceBackend,
  BlobServiceRegistry,
  defaultRegistry,
  fromAddr,
  type OpenOptions,
  register,
} from "./registry.js";
export type { DigestLike } from "./service-base.js";
export type { SignalOptions } from "./signal.js";
export {
  canReportStatistics,
  type StatisticsReporter,
  type StoreStatistics,
  statisticsOf,
} from "./statistics.js";
export type { BlobReader, BlobService, BlobWriter, BytesInput, ReadOptions, SeekOrigin } from "./types.js";
