/** What a service has sent to its object store, for benchmarks and dedup checks. */
export interface TransferStats {
  /** Chunk objects written. */
  chunksPut: number;
  /** Compressed bytes of the chunk objects written. */
  chunkBytesPut: number;
  /** Chunks the store already had (found by HEAD, or refused by a conditional put). */
  chunksSkipped: number;
  /** Compressed bytes sent in conditional puts the store refused because the chunk existed. */
  chunkBytesWasted: number;
  /** Blob objects (chunk lists) written. */
  blobsPut: number;
}

export function emptyStats(): TransferStats {
  return { chunksPut: 0, chunkBytesPut: 0, chunksSkipped: 0, chunkBytesWasted: 0, blobsPut: 0 };
}
