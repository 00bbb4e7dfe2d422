/** What a service has sent to its object store, for benchmarks and dedup checks. */
export interface TransferStats {
  /** Chunk objects written. */
  chunksPut: number;
  /** Compressed bytes of the chunk objects written. */
  chunkBytesPut: number;
  /** Chunks not sent because the store already had them. */
  chunksSkipped: number;
  /** Blob objects (chunk lists) written. */
  blobsPut: number;
}

export function emptyStats(): TransferStats {
  return { chunksPut: 0, chunkBytesPut: 0, chunksSkipped: 0, blobsPut: 0 };
}
