/**
 * The little an object store must do for castore's layout: whole-object put, get and head by key.
 * No listing, no deletion, no ranges: chunks are small and always fetched whole, and every object
 * is immutable once written (its key is its content's digest, or a blob's digest for its chunk list).
 */
export interface ObjectStore {
  /**
   * The object's bytes, or `undefined` when there is no such object. The array is the caller's own
   * (no other holder reads or writes it): readers unpack chunks inside it and hand out views of it.
   */
  get(key: string, signal?: AbortSignal): Promise<Uint8Array | undefined>;
  /** Whether the object exists. */
  head(key: string, signal?: AbortSignal): Promise<boolean>;
  /**
   * Writes the object unless one exists under `key` (`If-None-Match: *` where the service has it).
   * Returns false when an object was already there; its content then stays, which is right for
   * content-addressed keys. A concurrent put of the same key may also succeed: both wrote the
   * same bytes. Readers never see a partly written object. The store keeps no reference to
   * `bytes` once the promise resolves true: writers reuse the buffer for their next chunk.
   */
  putIfAbsent(key: string, bytes: Uint8Array, signal?: AbortSignal): Promise<boolean>;
  /** A description for messages and logs, never holding a secret ("s3 bucket b at http://…"). */
  readonly description: string;
  /** Releases connections and handles. */
  close(): Promise<void>;
}
