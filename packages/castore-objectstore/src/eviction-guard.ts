/**
 * What a bounded store (one that deletes, see file-eviction.ts) needs the service's readers and
 * writers to tell it, so that it never deletes what they use. Digests are lowercase hex. An
 * unbounded store has no guard: nothing is ever deleted, so nothing needs holding.
 */
export interface EvictionGuard {
  /**
   * Before a read of `digest` (a blob, or a chunk read as a blob): waits out its deletion if one
   * is under way, then pins it until the returned function is called. Also a use of the blob.
   */
  beginRead(digest: string): Promise<() => void>;
  /** Undefined, or a promise to wait for before storing more (the store is over its bound). */
  roomForWrite(): Promise<void> | undefined;
  /**
   * A writer holds a chunk (or, at commit, the blob) it is about to check for or store, until
   * {@link releaseWriter}: it is not deleted meanwhile. Undefined, or a deletion under way that
   * the writer must wait out before it looks for the object.
   */
  holdForWriter(digest: string): Promise<void> | undefined;
  /** A writer stored a chunk object of `bytes` bytes. */
  chunkStored(digest: string, bytes: number): void;
  /** A writer's blob object is in place (`created`: by this writer), listing `chunks`. */
  blobCommitted(digest: string, chunks: readonly string[], objectBytes: number, created: boolean): void;
  /** A writer is done (committed or discarded): what it held may be deleted again. */
  releaseWriter(held: readonly string[]): void;
  /** What the bounded store holds, as its index counts it, and how many blobs it evicted. */
  statistics(): { blobs: number; storedBytes: number; evictions: number };
  /** Stops evicting and writes pending uses. */
  close(): Promise<void>;
}
