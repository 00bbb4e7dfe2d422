import type { B3Digest, BlobService } from "castore-core";

/**
 * Writes `data` through one buffer, `piece`, refilled for every write once the previous one has
 * resolved and scribbled over (0xee) after it: what the store keeps must be its own copy, as a
 * caller that reuses its buffer requires. Returns the digest the writer reports.
 */
export async function writeThroughOneBuffer(
  service: BlobService,
  data: Uint8Array,
  piece: Uint8Array,
): Promise<B3Digest> {
  const writer = await service.openWrite();
  for (let offset = 0; offset < data.length; offset += piece.length) {
    const part = data.subarray(offset, offset + piece.length);
    piece.set(part);
    await writer.write(piece.subarray(0, part.length));
    piece.fill(0xee);
  }
  return writer.close();
}
