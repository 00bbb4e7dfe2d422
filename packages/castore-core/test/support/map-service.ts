// A small, complete BlobService over a Map, built on the core base classes: the backend the core
// tests wrap, decorate and load twice. Optionally lists its blobs (the BlobLister capability) or reports statistics.
import { BaseBlobService, BaseBlobWriter, BytesReader, concatBytes, copyBytes } from "../../src/backend.js";
import {
  B3Digest,
  type BlobReader,
  type BlobWriter,
  type SignalOptions,
  type StoreStatistics,
} from "../../src/index.js";

class MapWriter extends BaseBlobWriter {
  #parts: Uint8Array[] = [];
  constructor(private readonly blobs: Map<string, Uint8Array>) {
    super();
  }
  protected writeChunk(chunk: Uint8Array): void {
    this.#parts.push(copyBytes(chunk));
  }
  protected commit(digest: B3Digest): void {
    if (!this.blobs.has(digest.toString())) this.blobs.set(digest.toString(), concatBytes(this.#parts));
  }
  protected discard(): void {
    this.#parts = [];
  }
}

export class MapService extends BaseBlobService {
  readonly blobs = new Map<string, Uint8Array>();
  protected async hasImpl(digest: B3Digest): Promise<boolean> {
    return this.blobs.has(digest.toString());
  }
  protected async openReadImpl(digest: B3Digest): Promise<BlobReader | undefined> {
    const bytes = this.blobs.get(digest.toString());
    return bytes && new BytesReader(digest, bytes);
  }
  protected async openWriteImpl(): Promise<BlobWriter> {
    return new MapWriter(this.blobs);
  }
}

/** The same store, able to list its blobs. */
export class ListingMapService extends MapService {
  async *listBlobs(_options?: SignalOptions): AsyncIterable<B3Digest> {
    for (const text of [...this.blobs.keys()].sort()) yield B3Digest.parse(text);
  }
}

/** A MapService that reports statistics (the StatisticsReporter capability). */
export class CountingMapService extends MapService {
  statistics(): StoreStatistics {
    let storedBytes = 0;
    for (const bytes of this.blobs.values()) storedBytes += bytes.length;
    return { blobs: this.blobs.size, storedBytes };
  }
}
