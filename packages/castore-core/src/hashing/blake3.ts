/** An incremental BLAKE3 hasher. */
export interface Blake3Hasher {
  update(data: Uint8Array): void;
  /** The 32-byte digest of everything passed to update. The hasher must not be used afterwards. */
  digest(): Uint8Array;
  /** Frees the hasher without a digest (WebAssembly memory is not garbage-collected). */
  dispose(): void;
}

/** One BLAKE3 implementation (native binding or WebAssembly). */
export interface Blake3Implementation {
  /** "native" or "wasm". */
  readonly name: string;
  createHasher(): Blake3Hasher;
}
