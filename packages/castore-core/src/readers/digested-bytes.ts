/**
 * A chunk's bytes together with the BLAKE3 digest castore-core computed over them where they were
 * read (in a worker thread: see `readFileChunk` in `castore-core/node`). `ChunkedReader` compares
 * that digest with the chunk's instead of hashing the bytes a second time on its own thread. Only
 * castore-core makes these (the class is not exported): the reader accepts none built elsewhere.
 */
export class DigestedBytes {
  readonly bytes: Uint8Array;
  /** BLAKE3 of `bytes`, 32 bytes. */
  readonly digest: Uint8Array;
  /** Marks instances of this class, which nothing outside it can forge (see isDigestedBytes). */
  readonly #madeByCore = true;

  constructor(bytes: Uint8Array, digest: Uint8Array) {
    this.bytes = bytes;
    this.digest = digest;
  }

  /** Whether `value` is bytes whose digest castore-core computed. */
  static is(value: unknown): value is DigestedBytes {
    return typeof value === "object" && value !== null && #madeByCore in value;
  }
}
