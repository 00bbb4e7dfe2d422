import type { B3Digest, Blake3Implementation } from "castore-core";
import { BaseBlobWriter, ChunkSplitter, type FastCdcOptions, type SplitChunk } from "castore-core/backend";

/**
 * Cuts the written bytes into FastCDC chunks as they arrive (each byte copied once, by the splitter)
 * and, on close, hands the blob's chunks to `store`. Nothing is visible before close; an aborted
 * writer just drops its chunks.
 */
export class MemoryBlobWriter extends BaseBlobWriter {
  readonly #store: (digest: B3Digest, size: number, chunks: SplitChunk[]) => void;
  readonly #splitter: ChunkSplitter;
  #chunks: SplitChunk[] = [];

  /** @param blake3 loaded by the service, so that writing stays synchronous */
  constructor(
    sizes: FastCdcOptions,
    blake3: Blake3Implementation,
    store: (digest: B3Digest, size: number, chunks: SplitChunk[]) => void,
  ) {
    super();
    this.#splitter = new ChunkSplitter(sizes, blake3);
    this.#store = store;
  }

  protected writeChunk(chunk: Uint8Array): void {
    for (const finished of this.#splitter.push(chunk)) this.#chunks.push(finished);
  }

  protected commit(digest: B3Digest, size: number): void {
    const chunks = this.#chunks;
    chunks.push(...this.#splitter.finish());
    this.#chunks = [];
    this.#store(digest, size, chunks);
  }

  protected discard(): void {
    this.#chunks = [];
  }
}
