import { type B3Digest, type BlobReader, type ChunkMeta, digestOf, InvalidArgumentError } from "castore-core";
import { BytesReader, ChunkedReader, ForwardSeeker, validateChunkList, verifyStream } from "castore-core/backend";

/** A started Read call: the blob's bytes as they arrive (unverified), and how to cancel the call. */
export interface OpenedRead {
  readonly bytes: AsyncIterable<Uint8Array>;
  readonly cancel: () => void;
}

/** How a client reaches a remote blob: the calls both castore clients (Node and browser) make. */
export interface RemoteBlobCalls {
  /** Stat with send_chunks: the chunk list (`[]` for one piece), or undefined when the blob is absent. */
  chunks(digest: B3Digest, signal: AbortSignal | undefined): Promise<ChunkMeta[] | undefined>;
  /**
   * Starts a Read of a blob or chunk and waits for the server's first answer; undefined when it is
   * absent. `signal` bounds only the opening: the call lives until its bytes are read or it is cancelled.
   */
  read(digest: B3Digest, signal: AbortSignal | undefined): Promise<OpenedRead | undefined>;
}

/**
 * How many chunks a chunked read holds: the one being read and fifteen fetched ahead. A read from the
 * start takes them from one Read of the whole blob; after a seek, each chunk is its own Read, a round
 * trip, and with four a sequential read through a daemon spent most of its time waiting for the next
 * chunk (the daemon reads its store per call). At most 16 × the largest chunk.
 */
export const DEFAULT_READ_AHEAD_WINDOW = 16;

let emptyDigest: Promise<B3Digest> | undefined;

/**
 * Opens a remote blob for reading. A blob with a chunk list of two or more chunks is read through
 * core's ChunkedReader: seekable in every direction, every chunk verified against its digest, the
 * next chunks fetched ahead while reading in order (at most `window` chunks held). A read from the
 * start takes the chunks from one Read of the whole blob, cut at the chunk boundaries (one call
 * instead of one per chunk: through a daemon, thousands of round trips a GiB); after a seek, each
 * chunk is a Read of its own, and those run side by side on the client's download connection. A
 * blob stored in one piece, or a server that sends no chunk list, is read as one verified
 * forward-only stream; the empty blob needs no Read at all (fully seekable, nothing to fetch).
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
      openChunk: async (chunk, chunkSignal) => (await calls.read(chunk.digest, chunkSignal))?.bytes,
      openBlobStream: async (streamSignal) => {
        const opened = await calls.read(digest, streamSignal);
        if (opened === undefined) return undefined;
        // This signal cancels the stream whenever it fires, not only while it opens.
        if (streamSignal.aborted) opened.cancel();
        else streamSignal.addEventListener("abort", opened.cancel, { once: true });
        return opened.bytes;
      },
      // A chunk's bytes are the received pieces, views of buffers nobody else holds: the reader's
      // own, so reads hand out views of them rather than a second copy of every byte.
      handOutViews: true,
    });
  }
  emptyDigest ??= digestOf(new Uint8Array(0));
  if (digest.equals(await emptyDigest)) return new BytesReader(digest, new Uint8Array(0));
  const opened = await calls.read(digest, signal);
  if (opened === undefined) return undefined;
  return new ForwardSeeker(digest, verifyStream(opened.bytes, digest), { onClose: opened.cancel });
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
