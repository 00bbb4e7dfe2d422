import { type B3Digest, BaseBlobWriter, concatBytes } from "castore-core";

/**
 * Collects copies of the written chunks and, on close, joins them into one immutable blob handed
 * to `store` (which keeps the first copy of a digest).
 */
export class MemoryBlobWriter extends BaseBlobWriter {
  #chunks: Uint8Array[] = [];
  readonly #store: (digest: B3Digest, bytes: Uint8Array) => void;

  constructor(store: (digest: B3Digest, bytes: Uint8Array) => void) {
    super();
    this.#store = store;
  }

  protected writeChunk(chunk: Uint8Array): void {
    // A copy: the caller may reuse its buffer once write() resolves.
    this.#chunks.push(chunk.slice());
  }

  protected commit(digest: B3Digest): void {
    const chunks = this.#chunks;
    this.#chunks = [];
    // concatBytes returns a lone chunk as is; it is already our private copy.
    this.#store(digest, chunks.length === 0 ? new Uint8Array(0) : concatBytes(chunks));
  }

  protected discard(): void {
    this.#chunks = [];
  }
}
