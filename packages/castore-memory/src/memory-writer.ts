import { type B3Digest, BaseBlobWriter } from "castore-core";
import { SegmentBuilder, type SegmentedBytes } from "./segments.js";

/** Copies written chunks into segments and, on close, hands the finished blob to `store`. */
export class MemoryBlobWriter extends BaseBlobWriter {
  #builder: SegmentBuilder | undefined = new SegmentBuilder();
  readonly #store: (digest: B3Digest, bytes: SegmentedBytes) => void;

  constructor(store: (digest: B3Digest, bytes: SegmentedBytes) => void) {
    super();
    this.#store = store;
  }

  protected writeChunk(chunk: Uint8Array): void {
    this.#builder?.append(chunk);
  }

  protected commit(digest: B3Digest): void {
    const bytes = (this.#builder ?? new SegmentBuilder()).finish();
    this.#builder = undefined;
    this.#store(digest, bytes);
  }

  protected discard(): void {
    this.#builder = undefined;
  }
}
