export { type S3Address, safeHref } from "./address.js";
export {
  objectStoreBackends,
  objectStoreFileBackend,
  objectStoreMemoryBackend,
  objectStoreS3Backend,
} from "./backends.js";
export { FileObjectStore } from "./file-store.js";
export { blobKey, chunkKey } from "./layout.js";
export { MemoryObjectStore } from "./memory-store.js";
export type { ObjectStore } from "./object-store.js";
export type { ObjectStoreBlobServiceOptions } from "./options.js";
export { type S3FailureKind, S3StoreError } from "./s3/errors.js";
export type { RetryPolicy } from "./s3/retry.js";
export { S3ObjectStore, type S3ObjectStoreOptions } from "./s3/s3-store.js";
export { ObjectStoreBlobService } from "./service.js";
export type { TransferStats } from "./stats.js";
