import type { B3Digest, ChunkMeta } from "castore-core";
import { ChunkedReader, type ChunkedReaderOptions } from "castore-core/backend";

export interface ReadThroughReaderOptions extends ChunkedReaderOptions {
  /** Called once, after a complete, verified read. */
  onComplete: () => void;
}

/**
 * A `ChunkedReader` over a far blob's chunk list that reports a complete read: every byte handed
 * out in order from offset 0 to the end, which `ChunkedReader` has then verified against the blob
 * digest (it throws instead of reporting the end otherwise). The cache then stores the whole blob
 * near, so later reads use near's own reader.
 */
export class ReadThroughReader extends ChunkedReader {
  /** Bytes handed out in order from offset 0; -1 once a read left that order. */
  #inOrder = 0;
  #onComplete: (() => void) | undefined;

  constructor(digest: B3Digest, size: number, chunks: readonly ChunkMeta[], options: ReadThroughReaderOptions) {
    super(digest, size, chunks, options);
    this.#onComplete = options.onComplete;
  }

  protected override async readChunk(maxBytes: number, signal: AbortSignal | undefined, into: Uint8Array | undefined) {
    const start = this.position;
    const bytes = await super.readChunk(maxBytes, signal, into);
    if (bytes === undefined) {
      if (start === this.size && this.#inOrder === this.size) {
        const onComplete = this.#onComplete;
        this.#onComplete = undefined;
        onComplete?.();
      }
      return undefined;
    }
    if (start === 0) this.#inOrder = 0;
    this.#inOrder = start === this.#inOrder ? this.#inOrder + bytes.length : -1;
    return bytes;
  }

  protected override async seekTo(target: number): Promise<void> {
    await super.seekTo(target);
    // Any seek ends ChunkedReader's proof of the whole blob (even one to where the reader is);
    // only a read from offset 0 starts a new one.
    this.#inOrder = target === 0 ? 0 : -1;
  }
}
