/** An incremental BLAKE3 hasher. */
export interface Blake3Hasher {
  update(data: Uint8Array): void;
  /** The 32-byte digest of everything passed to update. The hasher must not be used afterwards. */
  digest(): Uint8Array;
  /**
   * The 32-byte digest of everything passed to update so far; the hasher stays usable. BLAKE3
   * finalizes without consuming its state, so a store can check a running digest after each piece
   * of a blob at the cost of a few compressions, not a second pass over the bytes.
   */
  digestSoFar(): Uint8Array;
  /** Frees the hasher without a digest (WebAssembly memory is not garbage-collected). */
  dispose(): void;
}

/** One BLAKE3 implementation (native binding or WebAssembly). */
export interface Blake3Implementation {
  /** "native" or "wasm". */
  readonly name: string;
  createHasher(): Blake3Hasher;
}
