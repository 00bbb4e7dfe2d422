// A memory store that lets a test watch what the server does with it: how many bytes its writers
// took, whether they were aborted or closed, how many bytes its readers handed out and whether
// they were closed, and a gate that holds writers back (to see backpressure reach the client).
import type { B3Digest, BlobReader, BlobWriter, BytesInput, ReadOptions, SignalOptions } from "castore-core";
import { chunksOf, ForwardingBlobReader, ForwardingBlobWriter } from "castore-core/backend";
import { MemoryBlobService } from "castore-memory";

export class ObservedBlobService extends MemoryBlobService {
  /** Bytes writers have taken from the server, over all writers. */
  bytesTaken = 0;
  writersAborted = 0;
  writersClosed = 0;
  /** Bytes readers have handed to the server. */
  bytesRead = 0;
  readersOpened = 0;
  /** Readers the server has read from at least once. */
  readersRead = 0;
  readersClosed = 0;
  /** Called each time a reader is opened. */
  onReaderOpened: (() => void) | undefined;
  /** Called each time a reader is closed. */
  onReaderClosed: (() => void) | undefined;
  #gate: Promise<void> = Promise.resolve();
  #open: () => void = () => {};

  /** Writers stop taking bytes until `release()`. */
  hold(): void {
    this.#gate = new Promise((resolve) => {
      this.#open = resolve;
    });
  }

  release(): void {
    this.#open();
  }

  protected override async openWriteImpl(): Promise<BlobWriter> {
    return new ObservedWriter(await super.openWriteImpl(), this);
  }

  /**
   * No chunk lists: clients read each blob as one Read stream, which is what the tests using this
   * store observe (flow control, cancellation, shutdown), whatever the memory store's chunking.
   */
  protected override async chunksImpl(digest: B3Digest) {
    return (await this.hasImpl(digest)) ? [] : undefined;
  }

  protected override async openReadImpl(digest: B3Digest) {
    const reader = await super.openReadImpl(digest);
    if (!reader) return undefined;
    this.readersOpened++;
    this.onReaderOpened?.();
    return new ObservedReader(reader, this);
  }

  /** `data`, counted as the writer takes it, held back while the gate is closed. */
  taken(data: BytesInput, options?: SignalOptions): AsyncGenerator<Uint8Array> {
    return this.#taken(data, options);
  }

  async *#taken(data: BytesInput, options?: SignalOptions): AsyncGenerator<Uint8Array> {
    const chunks = chunksOf(data, options)[Symbol.asyncIterator]();
    for (;;) {
      await this.#gate;
      const next = await chunks.next();
      if (next.done) return;
      this.bytesTaken += next.value.length;
      yield next.value;
    }
  }
}

class ObservedWriter extends ForwardingBlobWriter {
  constructor(
    inner: BlobWriter,
    private readonly observed: ObservedBlobService,
  ) {
    super(inner);
  }
  override write(data: BytesInput, options?: SignalOptions): Promise<void> {
    return super.write(this.observed.taken(data, options), options);
  }
  override async close(options?: SignalOptions): Promise<B3Digest> {
    const digest = await super.close(options);
    this.observed.writersClosed++;
    return digest;
  }
  override abort(reason?: unknown): Promise<void> {
    this.observed.writersAborted++;
    return super.abort(reason);
  }
}

class ObservedReader extends ForwardingBlobReader {
  constructor(
    inner: BlobReader,
    private readonly observed: ObservedBlobService,
  ) {
    super(inner);
  }
  #read = false;
  override async read(options?: ReadOptions): Promise<Uint8Array | undefined> {
    if (!this.#read) this.observed.readersRead++;
    this.#read = true;
    const chunk = await super.read(options);
    this.observed.bytesRead += chunk?.length ?? 0;
    return chunk;
  }
  override async close(): Promise<void> {
    this.observed.readersClosed++;
    await super.close();
    this.observed.onReaderClosed?.();
  }
}
