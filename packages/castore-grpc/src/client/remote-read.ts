import { type B3Digest, type BlobReader, type ChunkMeta, digestOf, InvalidArgumentError } from "castore-core";
import { BytesReader, ChunkedReader, validateChunkList } from "castore-core/backend";

/** How a client reaches a remote blob: the calls both castore clients (Node and browser) make. */
export interface RemoteBlobCalls {
  /** Stat with send_chunks: the chunk list (`[]` for one piece), or undefined when the blob is absent. */
  chunks(digest: B3Digest, signal: AbortSignal | undefined): Promise<ChunkMeta[] | undefined>;
  /** A Read of one chunk, by its digest: its bytes (unverified), or undefined when absent. */
  readChunk(chunk: ChunkMeta, signal: AbortSignal): Promise<AsyncIterable<Uint8Array> | undefined>;
  /** A Read of the whole blob as a verified forward-only reader, or undefined when absent. */
  openStream(digest: B3Digest, signal: AbortSignal | undefined): Promise<BlobReader | undefined>;
}

/**
 * How many chunks a chunked read holds: the one being read and fifteen fetched ahead. Each chunk is
 * its own Read, a round trip; with four, a sequential read through a daemon spent most of its time
 * waiting for the next chunk (the daemon reads its store per call). At most 16 × the largest chunk.
 */
export const DEFAULT_READ_AHEAD_WINDOW = 16;

let emptyDigest: Promise<B3Digest> | undefined;

/**
 * Opens a remote blob for reading. A blob with a chunk list of two or more chunks is read through
 * core's ChunkedReader over per-chunk Reads: seekable in every direction, every chunk verified
 * against its digest, the next chunks fetched ahead while reading in order (at most `window` chunks
 * held; the Reads run side by side on the client's download connection). A blob stored in one piece,
 * or a server that sends no chunk list, is read as one verified forward-only stream; the empty blob
 * needs no Read at all (fully seekable, nothing to fetch).
 *
 * The chunk list is the server's claim: chunks are verified as they arrive, and a full read also
 * checks the whole blob's digest before its clean end (see ChunkedReader).
 */
export async function openRemoteBlob(
  digest: B3Digest,
  calls: RemoteBlobCalls,
  signal: AbortSignal | undefined,
  window = DEFAULT_READ_AHEAD_WINDOW,
): Promise<BlobReader | undefined> {
  const chunks = await calls.chunks(digest, signal);
  if (chunks === undefined) return undefined;
  if (chunks.length >= 2) {
    const size = chunks.reduce((sum, chunk) => sum + chunk.size, 0);
    if (!Number.isSafeInteger(size)) throw new InvalidArgumentError(`blob ${digest}: its chunks add up to too much`);
    return new ChunkedReader(digest, size, chunks, {
      window,
      openChunk: (chunk, chunkSignal) => calls.readChunk(chunk, chunkSignal),
      // A chunk's bytes are the received pieces joined into a fresh array (or the one received
      // piece, a view nobody else holds): the reader's own, so reads hand out views of it rather
      // than a second copy of every byte.
      handOutViews: true,
    });
  }
  emptyDigest ??= digestOf(new Uint8Array(0));
  if (digest.equals(await emptyDigest)) return new BytesReader(digest, new Uint8Array(0));
  return calls.openStream(digest, signal);
}

/**
 * A chunk list from the wire, checked (core's validateChunkList: 32-byte digests, positive sizes);
 * a size beyond 2^53 − 1 is refused rather than rounded.
 */
export function chunkListFromWire(chunks: readonly { digest: Uint8Array; size: bigint }[]): ChunkMeta[] {
  return validateChunkList(
    chunks.map((chunk) => ({
      digest: chunk.digest as unknown as B3Digest, // validateChunkList takes the bytes and checks them
      size: chunk.size <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(chunk.size) : Number.NaN,
    })),
  );
}

/** Bytes that fail with `error` when read: a read that failed before its first byte, reported by the reader. */
export async function* failing(error: unknown): AsyncGenerator<Uint8Array> {
  yield* [];
  throw error;
}
