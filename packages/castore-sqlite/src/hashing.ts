import { B3Digest, type Blake3Implementation } from "castore-core";

/** BLAKE3 of one chunk, synchronously (the implementation is loaded once when the store opens). */
export function hashChunk(blake3: Blake3Implementation, bytes: Uint8Array): B3Digest {
  const hasher = blake3.createHasher();
  hasher.update(bytes);
  return B3Digest.fromBytes(hasher.digest());
}
