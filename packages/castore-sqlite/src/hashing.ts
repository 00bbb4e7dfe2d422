import type { Blake3Implementation } from "castore-core";

/** BLAKE3 of one chunk, synchronously (the implementation is loaded once when the store opens). */
export function hashChunk(blake3: Blake3Implementation, bytes: Uint8Array): Uint8Array {
  const hasher = blake3.createHasher();
  hasher.update(bytes);
  return hasher.digest();
}

/** Whether two byte strings (digests) are equal. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
