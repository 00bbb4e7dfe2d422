import { B3Digest, type BlobReader, type ChunkMeta, IntegrityError, isCastoreError } from "castore-core";
import { BytesReader, type ChunkBytes, ChunkedReader, isDetached, sealOf } from "castore-core/backend";
import { movableChunkBuffer, readFileChunk } from "castore-core/node";
import type { ChunkFileLocation } from "./chunk-files.js";
import { fileError } from "./file-calls.js";
import { sqliteCall } from "./sqlite-errors.js";
import type { Store } from "./store.js";

/**
 * How many chunks a reader holds: the one being read and those fetched ahead, each in a buffer of
 * the blob's largest chunk (2 MiB at most with default chunking). Measured on 1 GiB, 8 in flight
 * read no faster than 4 in a fresh process, and a reader the caller stops reading (a stalled
 * client of the daemon) holds them all.
 */
const READ_WINDOW = 4;

/**
 * A verifying, seekable reader for what `digest` names, or undefined when the store has neither a
 * blob nor a chunk by that digest:
 * - a one-piece blob (inline bytes) or a chunk read as a blob: loaded whole (at most one chunk, or
 *   one v1 inline blob) and checked against the digest before the first byte is handed out;
 * - a chunked blob: core's ChunkedReader over the stored chunk list, fetching chunks from their
 *   files (see chunk-files.ts; rows from before chunk files hold their bytes): random seek, every
 *   chunk checked against its digest before any of its bytes goes out. The list is checked against
 *   the seal stored with it at open (see checkChunkListSeal); a blob stored before seals has its
 *   full reads checked against the blob digest before their clean end instead.
 * In a bounded store, opening a blob counts as a use of it (see Recency), and a chunked blob is
 * pinned against eviction until its reader closes (see ReadPins); both happen in the same
 * synchronous step as the lookup, so no eviction step of this process comes between.
 */
export async function openStoredBlob(store: Store, digest: B3Digest): Promise<BlobReader | undefined> {
  const { statements } = store;
  const key = digest.unsafeBytes;
  // The lookup, the use and the pin happen before the first await (see above).
  const opened = sqliteCall("open a blob", () => {
    const stored = statements.lookup(key);
    if (!stored) return undefined;
    const bounded = store.evictor !== undefined;
    if (bounded && stored.kind !== "chunk") store.recency.touch(key, digest.toHex());
    if (stored.kind === "inline") {
      const data = statements.inlineData(key);
      return data && new BytesReader(digest, asUint8Array(data)); // undefined: deleted since the lookup
    }
    // A chunk read as a blob: its file is read below (nothing to pin: no blob, no use).
    if (stored.kind === "chunk") return { chunkSize: stored.size };
    return openChunkedBlob(store, digest, stored.size, bounded);
  });
  if (opened === undefined || !("chunkSize" in opened)) return opened;
  const bytes = await readChunk(store, key, opened.chunkSize);
  return bytes && new BytesReader(digest, bytes);
}

function openChunkedBlob(store: Store, digest: B3Digest, size: number, bounded: boolean): BlobReader {
  // Where each chunk's file was, read with the list: one query per blob, not one per chunk.
  const files = new Map<B3Digest, ChunkFileLocation>();
  const chunks = store.statements.chunkListWithFiles(digest.unsafeBytes).map(([chunk, chunkSize, file]) => {
    const chunkDigest = B3Digest.fromBytes(chunk);
    if (file !== null) files.set(chunkDigest, file);
    return { digest: chunkDigest, size: chunkSize };
  });
  let unpin: (() => void) | undefined;
  try {
    const chunkListProven = checkChunkListSeal(store, digest, size, chunks);
    const reader = new ChunkedReader(digest, size, chunks, {
      chunkListProven,
      window: READ_WINDOW,
      // Chunks in packs are read, and hashed, by worker threads into buffers the reader lends and
      // uses again (see readFileChunk).
      chunkBuffers: movableChunkBuffer,
      // Other chunk bytes are fresh Buffers nobody else holds, so the reader may hand them out as
      // views (ChunkedReader then lets go of that chunk: a caller writing into what it got never
      // changes what a seek back reads again).
      ownsChunks: true,
      // ChunkedReader hands back the list's own digests (validation keeps B3Digest instances).
      openChunk: (chunk, _signal, into) =>
        readChunk(store, chunk.digest.unsafeBytes, chunk.size, files.get(chunk.digest), into),
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
}

/**
 * Whether the chunk list read back is the one its write sealed (see schema.ts, version 5): true
 * when it matches its seal, false for a blob stored before seals (its full reads hash the whole
 * blob instead). A list that does not match is damage, reported before any byte goes out.
 */
function checkChunkListSeal(store: Store, digest: B3Digest, size: number, chunks: readonly ChunkMeta[]): boolean {
  const stored = store.statements.chunkListSeal(digest.unsafeBytes);
  if (stored === null) return false;
  // Entries are checked as they are sealed (32-byte digests, positive sizes); ChunkedReader checks
  // the rest of the list (the sizes add up to the blob's) as it is built.
  const seal = sealOf(store.blake3, chunks, digest, size);
  if (Buffer.compare(seal, stored) !== 0) {
    throw new IntegrityError(
      `blob ${digest} is corrupt: its stored chunk list (${chunks.length} chunks) does not match the seal written with it`,
    );
  }
  return true;
}

/**
 * A chunk's bytes, from its file (a pack, or a file of its own) or (a row from before chunk files)
 * its row; undefined when the store has no such chunk. `size` is its listed length (see
 * ChunkFiles.readAt); `knownFile`, where its bytes were when the blob was opened. A file deleted
 * since its row was read means the chunk was deleted, or stored again elsewhere: the row is read
 * (again) to tell which. With `into` (a buffer the reader lends), a chunk in a pack is read into it
 * by a worker thread (see readFileChunk).
 */
async function readChunk(store: Store, digest: Uint8Array, size: number): Promise<Uint8Array | undefined>;
async function readChunk(
  store: Store,
  digest: Uint8Array,
  size: number,
  knownFile: ChunkFileLocation | undefined,
  into: Uint8Array | undefined,
): Promise<ChunkBytes | undefined>;
async function readChunk(
  store: Store,
  digest: Uint8Array,
  size: number,
  knownFile?: ChunkFileLocation,
  into?: Uint8Array,
): Promise<ChunkBytes | undefined> {
  if (knownFile !== undefined) {
    const bytes = await readChunkFile(store, digest, knownFile, size, into);
    if (bytes) return bytes;
  }
  for (let attempt = 1; ; attempt++) {
    const location = sqliteCall("read a chunk", () => store.statements.chunkLocation(digest));
    if (!location) return undefined;
    if ("data" in location) return asUint8Array(location.data);
    const bytes = await readChunkFile(store, digest, location.file, size, into);
    if (bytes) return bytes;
    // Still named by its row on the second look: the file is gone (damage), reported as missing.
    if (attempt === 2) return undefined;
  }
}

/** The bytes at `location` (see ChunkFiles.readAt), or undefined when its file does not exist. */
async function readChunkFile(
  store: Store,
  digest: Uint8Array,
  location: ChunkFileLocation,
  size: number,
  into: Uint8Array | undefined,
): Promise<ChunkBytes | undefined> {
  // A file of its own is read the synchronous way, one byte further than listed (see readAt); so is
  // a chunk whose lent buffer went with a read of a pack that was gone (see movableChunkBuffer).
  if (into && !isDetached(into) && location.pack !== null) {
    const path = store.chunkFiles.pathOf(digest, location);
    try {
      return await readFileChunk(path, location.offset, into);
    } catch (error) {
      throw fileError("read the chunk file", path, error);
    }
  }
  const bytes = store.chunkFiles.readAt(digest, location, size);
  return bytes && asUint8Array(bytes);
}

/** better-sqlite3 returns Buffers; callers get plain Uint8Array views of the same memory. */
function asUint8Array(data: Buffer): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
