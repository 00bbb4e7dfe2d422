import { B3Digest, type BlobService, type ChunkMeta, NotFoundError, putBlob, ReadBuffers } from "castore-core";
import { splitBytes } from "castore-core/backend";

/**
 * What the three BlobService calls do, whichever protocol carried them (native gRPC on the
 * zero-copy path, or Connect for Stat, gRPC-Web and the Connect protocol). Errors are castore
 * errors; the caller turns them into a status.
 */

/**
 * Stat: resolves if the blob is stored, throws NotFound otherwise. A digest that is not 32 bytes is
 * InvalidDigest. With `sendChunks` it resolves to the store's chunk list (`[]` for a blob stored in
 * one piece, as snix answers), without it to `[]` and the store is only asked `has`.
 */
export async function statBlob(
  service: BlobService,
  digest: Uint8Array,
  sendChunks: boolean,
  signal: AbortSignal,
): Promise<readonly ChunkMeta[]> {
  const checked = B3Digest.fromBytes(digest);
  const chunks = sendChunks
    ? await service.chunks(checked, { signal })
    : (await service.has(checked, { signal }))
      ? []
      : undefined;
  if (chunks === undefined) throw new NotFoundError(`blob ${checked} not found`);
  return chunks;
}

/** A piece of a blob being served, and what to call once it has been sent (or copied). */
export interface ServedPiece {
  readonly bytes: Uint8Array;
  /** Lets the buffer behind `bytes` serve a later piece; call it once nothing reads `bytes` any more. */
  readonly sent: () => void;
}

const nothingToGiveBack = () => {};

/**
 * Read: the blob's bytes in pieces of at most `messageBytes`, or NotFound. The reader is opened
 * before this resolves (so absence is known before a response starts) and closed when the
 * iteration ends, however it ends. Pieces are read into a few buffers used in turn (see
 * ReadBuffers): a served read then allocates no fresh memory per chunk, which in the daemon cost
 * more in page faults and collections than reading and verifying the bytes.
 */
export async function readBlob(
  service: BlobService,
  digest: Uint8Array,
  messageBytes: number,
  signal: AbortSignal,
): Promise<AsyncGenerator<ServedPiece>> {
  const checked = B3Digest.fromBytes(digest);
  const reader = await service.openRead(checked, { signal });
  if (!reader) throw new NotFoundError(`blob ${checked} not found`);
  const buffers = new ReadBuffers(messageBytes);
  return (async function* () {
    try {
      for (;;) {
        const { buffer, giveBack } = buffers.take();
        const chunk = await reader.read({ signal, into: buffer });
        if (chunk?.buffer === buffer.buffer) {
          yield { bytes: chunk, sent: giveBack };
          continue;
        }
        // The end, or a reader that kept its own memory: the buffer was not used.
        giveBack();
        if (chunk === undefined) return;
        for (const bytes of splitBytes(chunk, messageBytes)) yield { bytes, sent: nothingToGiveBack };
      }
    } finally {
      await reader.close();
    }
  })();
}

/**
 * Put: streams the received bytes into a writer of the service (each chunk is written before the
 * next is read, so memory stays bounded) and returns the digest. If the stream fails or `signal`
 * fires, the writer is aborted and nothing is stored.
 */
export function writeBlob(
  service: BlobService,
  data: AsyncIterable<Uint8Array>,
  signal: AbortSignal,
): Promise<B3Digest> {
  return putBlob(service, data, { signal });
}
