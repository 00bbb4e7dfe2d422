import { createStreamHasher, loadBlake3 } from "#hasher";
import { B3Digest } from "../digest.js";
import type { Blake3Hasher, Blake3Implementation } from "./blake3.js";

export type { Blake3Hasher, Blake3Implementation } from "./blake3.js";
export type { StreamHasher } from "./stream-hasher.js";
/**
 * A hasher for one stream read or written whole (a blob as it arrives or leaves): on Node, a stream
 * longer than 1 MiB is hashed on a thread of its own while a core is free for it (see StreamHasher).
 */
export { createStreamHasher };

/** The BLAKE3 implementation castore uses on this runtime (loaded once). */
export function blake3(): Promise<Blake3Implementation> {
  return loadBlake3();
}

/** A fresh incremental hasher from the best implementation. */
export async function createBlake3Hasher(): Promise<Blake3Hasher> {
  return (await loadBlake3()).createHasher();
}

/** The digest of some bytes, held in memory. */
export async function digestOf(bytes: Uint8Array): Promise<B3Digest> {
  return digestWith(await loadBlake3(), bytes);
}

/** The digest of some bytes with an implementation already loaded (synchronous, for hot paths). */
export function digestWith(implementation: Blake3Implementation, bytes: Uint8Array): B3Digest {
  const hasher = implementation.createHasher();
  hasher.update(bytes);
  return B3Digest.fromBytes(hasher.digest());
}
