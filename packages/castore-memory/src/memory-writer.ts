import {
  type B3Digest,
  BaseBlobWriter,
  blake3,
  ChunkSplitter,
  type FastCdcOptions,
  type SplitChunk,
} from "castore-core";

/**
 * Cuts the written bytes into FastCDC chunks as they arrive (each byte copied once, by the splitter)
 * and, on close, hands the blob's chunks to `store`. Nothing is visible before close; an aborted
 * writer just drops its chunks.
 */
export class MemoryBlobWriter extends BaseBlobWriter {
  readonly #sizes: FastCdcOptions;
  readonly #store: (digest: B3Digest, size: number, chunks: SplitChunk[]) => void;
  #splitter: ChunkSplitter | undefined;
  #chunks: SplitChunk[] = [];

  constructor(sizes: FastCdcOptions, store: (digest: B3Digest, size: number, chunks: SplitChunk[]) => void) {
    super();
    this.#sizes = sizes;
    this.#store = store;
  }

  protected async writeChunk(chunk: Uint8Array): Promise<void> {
    const splitter = this.#splitter ?? (await this.#createSplitter());
    for (const finished of splitter.push(chunk)) this.#chunks.push(finished);
  }

  protected async commit(digest: B3Digest, size: number): Promise<void> {
    const splitter = this.#splitter ?? (await this.#createSplitter());
    const chunks = this.#chunks;
    chunks.push(...splitter.finish());
    this.#chunks = [];
    this.#splitter = undefined;
    this.#store(digest, size, chunks);
  }

  protected discard(): void {
    this.#chunks = [];
    this.#splitter = undefined;
  }

  async #createSplitter(): Promise<ChunkSplitter> {
    this.#splitter = new ChunkSplitter(this.#sizes, await blake3());
    return this.#splitter;
  }
}
