import type { Blake3Hasher } from "./blake3.js";

/**
 * A hasher for one stream of bytes, such as a blob being read or written whole: the digest is
 * BLAKE3 of everything passed to `update`. Where a spare core allows, a long stream is hashed on a
 * thread of its own (Node: see hash-thread.ts), so the thread moving the bytes only copies them;
 * elsewhere it is an ordinary hasher behind the same calls.
 */
export interface StreamHasher {
  /**
   * Takes `data` into the hash. Returns undefined when it is done with `data` (copied or hashed), or
   * a promise when it must first wait for room: the caller then leaves `data` unchanged and calls
   * nothing else on the hasher until that promise settles. It rejects only if the hashing thread
   * stopped, and the hasher is then unusable.
   */
  update(data: Uint8Array): Promise<void> | undefined;
  /** The 32-byte digest of everything passed to `update`. The hasher must not be used afterwards. */
  digest(): Promise<Uint8Array>;
  /**
   * Lets go of the hasher without a digest (its buffers, its place on a thread). An update waiting
   * for room settles, and later updates are ignored: a read still in flight when its reader closes
   * may go on passing bytes.
   */
  dispose(): void;
  /** Where the bytes are hashed: "thread" (another thread) or "here" (the caller's thread). */
  readonly where: "thread" | "here";
}

/** A StreamHasher over an ordinary hasher: every byte hashed on the caller's thread, at once. */
export function hashHere(hasher: Blake3Hasher): StreamHasher {
  return {
    where: "here",
    update(data) {
      hasher.update(data);
      return undefined;
    },
    digest: async () => hasher.digest(),
    dispose: () => hasher.dispose(),
  };
}
