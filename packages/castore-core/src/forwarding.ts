import type { ChunkMeta } from "./chunking/chunk-list.js";
import type { B3Digest } from "./digest.js";
import { AbortedError } from "./errors.js";
import { type BlobLister, canListBlobs } from "./listing.js";
import { iterateReader } from "./readers/iterate.js";
import type { SignalOptions } from "./signal.js";
import { canReportStatistics, type StatisticsReporter } from "./statistics.js";
import type { BlobReader, BlobService, BlobWriter, BytesInput, ReadOptions, SeekOrigin } from "./types.js";

/**
 * A BlobService that passes every call to another one: the base for decorators (logging, metrics,
 * fault injection in tests), which override only the methods they change. Readers and writers the
 * inner service hands out go through {@link wrapReader} and {@link wrapWriter}, so a decorator can
 * wrap them too (see {@link ForwardingBlobReader} and {@link ForwardingBlobWriter}).
 *
 * Optional capabilities are forwarded only when the inner service has them: `listBlobs` is present
 * on the decorator exactly when it is on the inner service, so `canListBlobs` answers the same for
 * both. A subclass changes the listing by overriding {@link forwardListBlobs}. `statistics` is
 * forwarded the same way.
 */
export class ForwardingBlobService<S extends BlobService = BlobService> implements BlobService {
  /** The service every call goes to. */
  readonly inner: S;
  /** Present when (and only when) the inner service can list its blobs. */
  // `declare`: no own property unless the constructor sets one, so canListBlobs sees none.
  declare readonly listBlobs?: BlobLister["listBlobs"];
  /** Present when (and only when) the inner service reports statistics. */
  declare readonly statistics?: StatisticsReporter["statistics"];

  constructor(inner: S) {
    this.inner = inner;
    if (canListBlobs(inner)) this.listBlobs = (options) => this.forwardListBlobs(inner, options);
    if (canReportStatistics(inner)) this.statistics = () => inner.statistics();
  }

  has(digest: B3Digest, options?: SignalOptions): Promise<boolean> {
    return this.inner.has(digest, options);
  }

  async openRead(digest: B3Digest, options?: SignalOptions): Promise<BlobReader | undefined> {
    const reader = await this.inner.openRead(digest, options);
    return reader && this.wrapReader(reader);
  }

  chunks(digest: B3Digest, options?: SignalOptions): Promise<ChunkMeta[] | undefined> {
    return this.inner.chunks(digest, options);
  }

  async openWrite(options?: SignalOptions): Promise<BlobWriter> {
    return this.wrapWriter(await this.inner.openWrite(options));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** What `openRead` hands out for a reader of the inner service. Default: that reader. */
  protected wrapReader(reader: BlobReader): BlobReader {
    return reader;
  }

  /** What `openWrite` hands out for a writer of the inner service. Default: that writer. */
  protected wrapWriter(writer: BlobWriter): BlobWriter {
    return writer;
  }

  /** The listing `listBlobs` returns (only called when the inner service can list). */
  protected forwardListBlobs(inner: S & BlobLister, options?: SignalOptions): AsyncIterable<B3Digest> {
    return inner.listBlobs(options);
  }
}

/**
 * A BlobReader that passes every call to another one; subclasses override what they change.
 * Iteration and disposal go through this object's own `read` and `close`, so overrides apply to
 * them too.
 */
export class ForwardingBlobReader implements BlobReader {
  /** The reader every call goes to. */
  protected readonly inner: BlobReader;

  constructor(inner: BlobReader) {
    this.inner = inner;
  }

  get digest(): B3Digest {
    return this.inner.digest;
  }
  get position(): number {
    return this.inner.position;
  }
  get size(): number | undefined {
    return this.inner.size;
  }
  get seekable(): boolean {
    return this.inner.seekable;
  }
  get maxHeldBytes(): number | undefined {
    return this.inner.maxHeldBytes;
  }

  read(options?: ReadOptions): Promise<Uint8Array | undefined> {
    return this.inner.read(options);
  }

  seek(offset: number, origin?: SeekOrigin, options?: SignalOptions): Promise<number> {
    return this.inner.seek(offset, origin, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return iterateReader(this);
  }
}

/**
 * A BlobWriter that passes every call to another one; subclasses override what they change.
 * Disposal goes through this object's own `abort`, so an override applies to it too.
 */
export class ForwardingBlobWriter implements BlobWriter {
  /** The writer every call goes to. */
  protected readonly inner: BlobWriter;

  constructor(inner: BlobWriter) {
    this.inner = inner;
  }

  get bytesWritten(): number {
    return this.inner.bytesWritten;
  }

  write(data: BytesInput, options?: SignalOptions): Promise<void> {
    return this.inner.write(data, options);
  }

  close(options?: SignalOptions): Promise<B3Digest> {
    return this.inner.close(options);
  }

  abort(reason?: unknown): Promise<void> {
    return this.inner.abort(reason);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.abort(new AbortedError("writer was disposed without close"));
  }
}
