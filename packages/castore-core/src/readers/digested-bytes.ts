/**
 * A chunk's bytes together with the BLAKE3 digest castore-core computed over them where they were
 * read (in a worker thread: see `readFileChunk` in `castore-core/node`). `ChunkedReader` compares
 * that digest with the chunk's instead of hashing the bytes a second time on its own thread, and
 * only for bytes in the buffer it lent for that chunk. Only castore-core makes these (the class is
 * not exported, and its fields cannot be replaced): the reader accepts none built elsewhere. What
 * this guards against is damage to stored bytes, as hashing them on the reader's thread would; it
 * does not guard against code of the store itself changing the lent memory after it was hashed.
 */
export class DigestedBytes {
  readonly #bytes: Uint8Array;
  readonly #digest: Uint8Array;

  constructor(bytes: Uint8Array, digest: Uint8Array) {
    this.#bytes = bytes;
    this.#digest = digest;
  }

  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /** BLAKE3 of `bytes`, 32 bytes. */
  get digest(): Uint8Array {
    return this.#digest;
  }

  /** Whether `value` is bytes whose digest castore-core computed (a private field no one else can add). */
  static is(value: unknown): value is DigestedBytes {
    return typeof value === "object" && value !== null && #bytes in value;
  }
}
