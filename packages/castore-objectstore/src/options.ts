/** Tuning shared by every objectstore+… address. */
export interface ObjectStoreBlobServiceOptions {
  /**
   * FastCDC average chunk size in bytes (min = avg/2, max = 2·avg), snix's default 262144. Also
   * bounds decompression of a one-piece blob's chunk (at most 2·avg bytes).
   */
  readonly avgChunkSize?: number | undefined;
  /** Chunk uploads in flight per writer. Default 8. */
  readonly uploadConcurrency?: number | undefined;
  /** Chunks a reader fetches ahead of the one being read. Default 4. */
  readonly downloadConcurrency?: number | undefined;
  /** Key prefix inside the store ("" for none). */
  readonly prefix?: string | undefined;
}

export const DEFAULT_UPLOAD_CONCURRENCY = 8;
export const DEFAULT_DOWNLOAD_CONCURRENCY = 4;
export const MAX_CONCURRENCY = 256;
