import type { BlobServiceBackend } from "castore-core";
import { parseFileAddress, parseMemoryAddress, parseS3Address } from "./address.js";
import { FileEviction } from "./file-eviction.js";
import { FileObjectStore } from "./file-store.js";
import { MemoryObjectStore } from "./memory-store.js";
import { S3ObjectStore } from "./s3/s3-store.js";
import { ObjectStoreBlobService } from "./service.js";

/** `objectstore+memory://[/PREFIX]`: snix's layout in memory; each open is a new, empty store. */
export const objectStoreMemoryBackend: BlobServiceBackend = {
  scheme: "objectstore+memory",
  description: "objectstore+memory:// — snix's object-store layout in memory, lost when closed",
  async open(url) {
    const options = parseMemoryAddress(url);
    return new ObjectStoreBlobService(new MemoryObjectStore(), options);
  },
};

/**
 * `objectstore+file:///ABS/PATH[?max_size=BYTES]`: snix's layout in a directory (created if
 * missing; its parent must exist). With `max_size`, the least recently used blobs are deleted
 * beyond that many bytes of object files (see file-eviction.ts).
 */
export const objectStoreFileBackend: BlobServiceBackend = {
  scheme: "objectstore+file",
  description: "objectstore+file:///abs/dir[?max_size=BYTES] — snix's object-store layout in a local directory",
  async open(url) {
    const { directory, maxSize, ...options } = parseFileAddress(url);
    const store = new FileObjectStore(directory);
    await store.init();
    const eviction = maxSize === undefined ? undefined : await FileEviction.open(store, options.prefix ?? "", maxSize);
    return new ObjectStoreBlobService(store, options, eviction);
  },
};

/**
 * `objectstore+s3://BUCKET[/PREFIX]?endpoint=…&region=…&force_path_style=1&profile=…`: any
 * S3-compatible service, credentials from the standard AWS chain. Opening checks the endpoint,
 * the credentials and the bucket (HeadBucket), so a wrong address fails here with a typed error.
 */
export const objectStoreS3Backend: BlobServiceBackend = {
  scheme: "objectstore+s3",
  description:
    "objectstore+s3://bucket/prefix?endpoint=… — S3-compatible bucket in snix's layout (AWS credential chain)",
  async open(url, options) {
    const { s3, ...serviceOptions } = parseS3Address(url);
    const store = new S3ObjectStore({
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: s3.forcePathStyle,
      profile: s3.profile,
      ...(s3.retries !== undefined ? { retry: { retries: s3.retries, baseDelayMs: 100, maxDelayMs: 3_000 } } : {}),
      maxSockets: Math.max(serviceOptions.uploadConcurrency ?? 8, serviceOptions.downloadConcurrency ?? 4) * 2,
    });
    try {
      await store.check(options?.signal);
    } catch (error) {
      await store.close();
      throw error;
    }
    return new ObjectStoreBlobService(store, serviceOptions);
  },
};

/** The three objectstore backends, for `register(...objectStoreBackends)`. */
export const objectStoreBackends: readonly BlobServiceBackend[] = [
  objectStoreMemoryBackend,
  objectStoreFileBackend,
  objectStoreS3Backend,
];
