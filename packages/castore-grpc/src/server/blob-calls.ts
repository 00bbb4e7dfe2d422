import {
  B3Digest,
  type BlobReader,
  type BlobService,
  type ChunkMeta,
  NotFoundError,
  putBlob,
  ReadBuffers,
} from "castore-core";
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

/** How a served Read reserves memory for what serving it holds (the server's byte budget). */
export interface ReadReservation {
  /** Reserves `bytes` if there is room now; false, having reserved nothing, otherwise. */
  tryReserve(bytes: number): boolean;
  /** Reserves `bytes`, waiting for room; rejects if none comes in time (or the call ends). */
  reserve(bytes: number): Promise<void>;
}

/**
 * Read: the blob's bytes in pieces of at most `messageBytes`, or NotFound. The reader is opened
 * before this resolves (so absence is known before a response starts) and closed when the
 * iteration ends, however it ends. Pieces are read into a few buffers used in turn (see
 * ReadBuffers): a served read then allocates no fresh memory per chunk, which in the daemon cost
 * more in page faults and collections than reading and verifying the bytes.
 *
 * With a `reservation`, what serving the reader holds (see `heldWhileServing`) is reserved before
 * anything is read; the caller gives it back once nothing it served is held any more (on the native
 * path, when the stream has closed). A Read that has to wait for room
 * waits without a reader (it closes it and opens it again once the room is there): an open reader
 * holds its chunk list, about 400 bytes a chunk, so thousands of waiting Reads of a large blob
 * would hold gigabytes. If the reservation fails, nothing was read.
 */
export async function readBlob(
  service: BlobService,
  digest: Uint8Array,
  messageBytes: number,
  signal: AbortSignal,
  reservation?: ReadReservation,
): Promise<AsyncGenerator<ServedPiece>> {
  const checked = B3Digest.fromBytes(digest);
  const open = async () => {
    const opened = await service.openRead(checked, { signal });
    if (!opened) throw new NotFoundError(`blob ${checked} not found`);
    return opened;
  };
  const reader = await openWithRoom(open, messageBytes, reservation);
  // No piece is larger than the blob: a small blob's Read needs no 1 MiB buffers.
  const buffers = new ReadBuffers(pieceBytes(reader, messageBytes));
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

/** Opens the reader once what serving it holds is reserved (see readBlob). */
async function openWithRoom(
  open: () => Promise<BlobReader>,
  messageBytes: number,
  reservation: ReadReservation | undefined,
): Promise<BlobReader> {
  let reader: BlobReader | undefined = await open();
  let held: number;
  try {
    held = heldWhileServing(reader, messageBytes);
    if (!reservation || reservation.tryReserve(held)) return reader;
  } catch (error) {
    await reader.close();
    throw error;
  }
  await reader.close();
  // Let go of it while waiting: this frame would otherwise keep the reader, and its list, alive.
  reader = undefined;
  await reservation.reserve(held);
  const reopened = await open();
  try {
    // The store may answer differently the second time (a cache that filled meanwhile): more
    // than was reserved is reserved too, this time holding the reader (it is rare).
    const more = heldWhileServing(reopened, messageBytes) - held;
    if (more > 0 && !reservation.tryReserve(more)) await reservation.reserve(more);
  } catch (error) {
    await reopened.close();
    throw error;
  }
  return reopened;
}

/** The size of the pieces a reader is read in: `messageBytes`, or the whole blob if that is less. */
function pieceBytes(reader: BlobReader, messageBytes: number): number {
  return Math.max(1, Math.min(messageBytes, reader.size ?? messageBytes));
}

/**
 * The memory serving `reader` holds at most: what the reader holds of its own (chunks fetched
 * ahead and its list, see BlobReader.maxHeldBytes) and two of the pieces it is read into (one being
 * read while the last is still being sent), each no larger than the blob. Measured before this was
 * charged: a daemon serving a 32 MiB chunked blob to 500 Reads whose client opened no HTTP/2 window
 * went from 90 MiB to 1 GiB, about 2 MiB a call, all outside its byte budget.
 */
export function heldWhileServing(reader: BlobReader, messageBytes: number): number {
  // A figure that is no count of bytes (a reader's bug) counts as none rather than as a discount.
  const own = reader.maxHeldBytes;
  const readerHolds = typeof own === "number" && Number.isFinite(own) && own > 0 ? own : 0;
  return readerHolds + 2 * pieceBytes(reader, messageBytes);
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
