import { Code, ConnectError } from "@connectrpc/connect";
import { B3Digest, type BlobService, createBlake3Hasher, InvalidArgumentError } from "castore-core";

/** One entry of a CommitChunked request: a chunk stored as a blob, and its length. */
export interface ChunkRef {
  digest: Uint8Array;
  size: bigint;
}

export interface CommitChunkedLimits {
  /** Most chunks one commit may list (each costs the server a read of the chunk). */
  maxChunks: number;
  /** Most bytes one commit may assemble. */
  maxBlobBytes: number;
}

/**
 * CommitChunked on any BlobService: makes the blob `digest` visible from chunks the store already
 * holds, after checking them. Every chunk must be stored (else FAILED_PRECONDITION); the chunks'
 * bytes are streamed, in order, from the store into a writer of the same store and hashed on the
 * way; a chunk whose length differs from the one listed, or a whole that does not hash to `digest`,
 * aborts the writer (INVALID_ARGUMENT). Nothing is stored unless every check passed. Returns the
 * blob's length. A blob already stored is answered at once (as Put deduplicates).
 *
 * Reading a chunk from the store verifies it against its digest (every castore reader does), so a
 * chunk corrupted at rest fails the commit (DATA_LOSS) instead of ending up inside the blob.
 */
export async function commitChunked(
  service: BlobService,
  request: { digest: Uint8Array; chunks: readonly ChunkRef[] },
  limits: CommitChunkedLimits,
  signal: AbortSignal,
): Promise<bigint> {
  const claimed = B3Digest.fromBytes(request.digest);
  const chunks = checkChunkList(request.chunks, limits);
  const total = chunks.reduce((sum, chunk) => sum + chunk.size, 0);

  const missing: B3Digest[] = [];
  for (const chunk of new Map(chunks.map((c) => [c.digest.toString(), c.digest])).values()) {
    if (!(await service.has(chunk, { signal }))) missing.push(chunk);
  }
  if (missing.length > 0) {
    const named = missing.slice(0, 3).join(", ") + (missing.length > 3 ? `, … (${missing.length} in all)` : "");
    throw new ConnectError(`chunks not stored: ${named}`, Code.FailedPrecondition);
  }
  if (await service.has(claimed, { signal })) return BigInt(total);

  const hasher = await createBlake3Hasher();
  const writer = await service.openWrite({ signal });
  try {
    for (const [index, chunk] of chunks.entries()) {
      const reader = await service.openRead(chunk.digest, { signal });
      if (!reader) {
        throw new ConnectError(
          `chunk ${index} (${chunk.digest}) disappeared during the commit`,
          Code.FailedPrecondition,
        );
      }
      let length = 0;
      try {
        for (;;) {
          const bytes = await reader.read({ signal });
          if (bytes === undefined) break;
          length += bytes.length;
          if (length > chunk.size) break;
          hasher.update(bytes);
          await writer.write(bytes, { signal });
        }
      } finally {
        await reader.close();
      }
      if (length !== chunk.size) {
        throw new InvalidArgumentError(`chunk ${index} (${chunk.digest}) is not ${chunk.size} bytes long`);
      }
    }
    const assembled = B3Digest.fromBytes(hasher.digest());
    if (!assembled.equals(claimed)) {
      throw new InvalidArgumentError(`the chunks hash to ${assembled}, not to the claimed ${claimed}`);
    }
    await writer.close({ signal });
    return BigInt(total);
  } catch (error) {
    await writer.abort(error).catch(() => {});
    throw error;
  }
}

/** The chunk list as digests and lengths, checked against the limits; InvalidArgument otherwise. */
function checkChunkList(
  chunks: readonly ChunkRef[],
  limits: CommitChunkedLimits,
): { digest: B3Digest; size: number }[] {
  if (chunks.length === 0) throw new InvalidArgumentError("the chunk list is empty");
  if (chunks.length > limits.maxChunks) {
    throw new InvalidArgumentError(`${chunks.length} chunks listed, at most ${limits.maxChunks} are accepted`);
  }
  let total = 0;
  return chunks.map((chunk, index) => {
    const digest = B3Digest.fromBytes(chunk.digest);
    if (chunk.size <= 0n) throw new InvalidArgumentError(`chunk ${index} (${digest}) has size 0`);
    total += chunk.size > BigInt(limits.maxBlobBytes) ? Number.POSITIVE_INFINITY : Number(chunk.size);
    if (total > limits.maxBlobBytes) {
      throw new InvalidArgumentError(`the chunks add up to more than ${limits.maxBlobBytes} bytes`);
    }
    return { digest, size: Number(chunk.size) };
  });
}
