import { B3Digest, type BlobReader, IntegrityError, isCastoreError } from "castore-core";
import { BytesReader, ChunkedReader } from "castore-core/backend";
import { sqliteCall } from "./sqlite-errors.js";
import type { Store } from "./store.js";

/** How many chunks a reader holds: the one being read and one fetched ahead. */
const READ_WINDOW = 2;

/**
 * A verifying, seekable reader for what `digest` names, or undefined when the store has neither a
 * blob nor a chunk by that digest:
 * - a one-piece blob (inline bytes) or a chunk read as a blob: loaded whole (at most one chunk, or
 *   one v1 inline blob) and checked against the digest before the first byte is handed out;
 * - a chunked blob: core's ChunkedReader over the stored chunk list, fetching chunks from the
 *   `chunks` table: random seek, every chunk checked against its digest before any of its bytes
 *   goes out, a full read also checked against the blob digest before its clean end.
 * In a bounded store, opening a blob counts as a use of it (see Recency), and a chunked blob is
 * pinned against eviction until its reader closes (see ReadPins); both happen in the same
 * synchronous step as the lookup, so no eviction step of this process comes between.
 */
export function openStoredBlob(store: Store, digest: B3Digest): BlobReader | undefined {
  const { statements } = store;
  const key = digest.unsafeBytes;
  return sqliteCall("open a blob", () => {
    const stored = statements.lookup(key);
    if (!stored) return undefined;
    const bounded = store.evictor !== undefined;
    if (bounded && stored.kind !== "chunk") store.recency.touch(key, digest.toHex());
    if (stored.kind !== "chunked") {
      const data = stored.kind === "inline" ? statements.inlineData(key) : statements.chunkData(key);
      if (!data) return undefined; // deleted since the lookup
      return new BytesReader(digest, asUint8Array(data));
    }
    const chunks = statements.chunkList(key).map(([chunk, size]) => ({ digest: B3Digest.fromBytes(chunk), size }));
    let unpin: (() => void) | undefined;
    try {
      const reader = new ChunkedReader(digest, stored.size, chunks, {
        window: READ_WINDOW,
        // Every row read is a fresh Buffer nobody else holds, so the reader may hand it out as a view
        // (ChunkedReader then lets go of that chunk: a caller writing into what it got never changes
        // what a seek back reads again).
        ownsChunks: true,
        openChunk: async (chunk) => {
          const bytes = sqliteCall("read a chunk", () => statements.chunkData(chunk.digest.unsafeBytes));
          return bytes && asUint8Array(bytes);
        },
        onClose: () => unpin?.(),
      });
      if (bounded) unpin = store.pins.pin(digest.toHex(), reader);
      return reader;
    } catch (error) {
      // A stored chunk list that does not describe the blob (sizes, digests) is damage, not a bad argument.
      if (isCastoreError(error, "InvalidArgument") || isCastoreError(error, "InvalidDigest")) {
        throw new IntegrityError(`blob ${digest} is corrupt: its stored chunk list is invalid: ${error.message}`, {
          cause: error,
        });
      }
      throw error;
    }
  });
}

/** better-sqlite3 returns Buffers; callers get plain Uint8Array views of the same memory. */
function asUint8Array(data: Buffer): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
