// A forwarding wrapper that counts what crosses it: put around a real far store, it shows how many
// chunks and bytes a cache fetched from far. Every call goes to the real store.
import type {
  B3Digest,
  BlobReader,
  BlobService,
  BlobWriter,
  ChunkMeta,
  ReadOptions,
  SeekOrigin,
  SignalOptions,
} from "castore-core";

export interface Transfers {
  /** openRead calls that found a blob. */
  opens: number;
  /** Bytes handed out by readers. */
  bytes: number;
  /** Digests opened, in order. */
  digests: string[];
}

export class CountingBlobService implements BlobService {
  readonly inner: BlobService;
  readonly transfers: Transfers = { opens: 0, bytes: 0, digests: [] };

  constructor(inner: BlobService) {
    this.inner = inner;
  }

  reset(): void {
    this.transfers.opens = 0;
    this.transfers.bytes = 0;
    this.transfers.digests = [];
  }

  has(digest: B3Digest, options?: SignalOptions): Promise<boolean> {
    return this.inner.has(digest, options);
  }

  chunks(digest: B3Digest, options?: SignalOptions): Promise<ChunkMeta[] | undefined> {
    return this.inner.chunks(digest, options);
  }

  async openRead(digest: B3Digest, options?: SignalOptions): Promise<BlobReader | undefined> {
    const reader = await this.inner.openRead(digest, options);
    if (!reader) return undefined;
    this.transfers.opens++;
    this.transfers.digests.push(digest.toString());
    return new CountingReader(reader, this.transfers);
  }

  openWrite(options?: SignalOptions): Promise<BlobWriter> {
    return this.inner.openWrite(options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

class CountingReader implements BlobReader {
  readonly #inner: BlobReader;
  readonly #transfers: Transfers;

  constructor(inner: BlobReader, transfers: Transfers) {
    this.#inner = inner;
    this.#transfers = transfers;
  }

  get digest(): B3Digest {
    return this.#inner.digest;
  }
  get position(): number {
    return this.#inner.position;
  }
  get size(): number | undefined {
    return this.#inner.size;
  }
  get seekable(): boolean {
    return this.#inner.seekable;
  }

  async read(options?: ReadOptions): Promise<Uint8Array | undefined> {
    const bytes = await this.#inner.read(options);
    if (bytes) this.#transfers.bytes += bytes.length;
    return bytes;
  }

  seek(offset: number, origin?: SeekOrigin, options?: SignalOptions): Promise<number> {
    return this.#inner.seek(offset, origin, options);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (let bytes = await this.read(); bytes !== undefined; bytes = await this.read()) yield bytes;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
