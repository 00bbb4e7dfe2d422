/** Tuning shared by every objectstore+… address. */
export interface ObjectStoreBlobServiceOptions {
  /**
   * FastCDC average chunk size in bytes (min = avg/2, max = 2·avg), snix's default 262144. Also
   * bounds decompression of a one-piece blob's chunk (at most 2·avg bytes).
   */
  readonly avgChunkSize?: number | undefined;
  /** Chunk uploads in flight per writer. Default 8. */
  readonly uploadConcurrency?: number | undefined;
  /**
   * Chunk fetches a reader keeps in flight. Default 4. Reading in order, it holds at most twice as
   * many chunks past the one being read, so the fetches go on while the consumer catches up.
   */
  readonly downloadConcurrency?: number | undefined;
  /** Key prefix inside the store ("" for none). */
  readonly prefix?: string | undefined;
}

export const DEFAULT_UPLOAD_CONCURRENCY = 8;
export const DEFAULT_DOWNLOAD_CONCURRENCY = 4;
export const MAX_CONCURRENCY = 256;
