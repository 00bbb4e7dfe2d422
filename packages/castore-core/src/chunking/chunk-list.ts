import { B3Digest } from "../digest.js";
import { InvalidArgumentError, InvalidDigestError } from "../errors.js";

/**
 * One chunk of a chunked blob: the BLAKE3 digest of its bytes and its length. Every chunk is itself
 * a blob, readable by its digest through the same service.
 *
 * `size` is a number: a chunk is at most 16 MiB (FastCDC's largest maximum), and blob lengths are
 * numbers throughout castore's API (`BlobReader.size`), exact up to 2^53 − 1 bytes (8 PiB). A size
 * that is not a safe integer is refused, so a uint64 from the wire can never be silently rounded.
 */
export interface ChunkMeta {
  readonly digest: B3Digest;
  readonly size: number;
}

/**
 * Checks a blob's chunk list and returns it with every digest as a B3Digest: each digest 32 bytes
 * (`InvalidDigest` otherwise), each size a positive safe integer, and, when `blobSize` is given, the
 * sizes adding up to it (`InvalidArgument` otherwise). An empty list is a one-piece blob.
 */
export function validateChunkList(chunks: readonly ChunkMeta[], blobSize?: number): ChunkMeta[] {
  if (!Array.isArray(chunks)) throw new InvalidArgumentError("a chunk list must be an array");
  let total = 0;
  const checked = chunks.map((chunk, index) => {
    let digest: B3Digest;
    try {
      digest = B3Digest.from(chunk.digest);
    } catch (error) {
      throw new InvalidDigestError(`chunk ${index}: ${(error as Error).message}`, { cause: error });
    }
    const size = chunk.size;
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size <= 0) {
      throw new InvalidArgumentError(
        `chunk ${index} (${digest}): size must be a positive integer, got ${String(size)}`,
      );
    }
    total += size;
    if (!Number.isSafeInteger(total)) throw new InvalidArgumentError("chunk sizes add up to more than 2^53 − 1 bytes");
    return { digest, size };
  });
  if (blobSize !== undefined && total !== blobSize) {
    throw new InvalidArgumentError(`the chunk sizes add up to ${total} bytes but the blob has ${blobSize}`);
  }
  return checked;
}
