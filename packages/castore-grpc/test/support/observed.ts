// A memory store that lets a test watch what the server does with it: how many bytes its writers
// took, whether they were aborted or closed, how many bytes its readers handed out and whether
// they were closed, and a gate that holds writers back (to see backpressure reach the client).
import type {
  B3Digest,
  BlobReader,
  BlobWriter,
  BytesInput,
  ReadOptions,
  SeekOrigin,
  SignalOptions,
} from "castore-core";
import { chunksOf } from "castore-core/backend";
import { MemoryBlobService } from "castore-memory";

export class ObservedBlobService extends MemoryBlobService {
  /** Bytes writers have taken from the server, over all writers. */
  bytesTaken = 0;
  writersAborted = 0;
  writersClosed = 0;
  /** Bytes readers have handed to the server. */
  bytesRead = 0;
  readersClosed = 0;
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
    const writer = await super.openWriteImpl();
    const observed = this;
    return {
      get bytesWritten() {
        return writer.bytesWritten;
      },
      write(data: BytesInput, options?: SignalOptions) {
        return writer.write(observed.#taken(data, options), options);
      },
      async close(options?: SignalOptions) {
        const digest = await writer.close(options);
        observed.writersClosed++;
        return digest;
      },
      abort(reason?: unknown) {
        observed.writersAborted++;
        return writer.abort(reason);
      },
      [Symbol.asyncDispose]: () => writer[Symbol.asyncDispose](),
    };
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
    const observed = this;
    const wrapped: BlobReader = {
      digest: reader.digest,
      get position() {
        return reader.position;
      },
      size: reader.size,
      seekable: reader.seekable,
      async read(options?: ReadOptions) {
        const chunk = await reader.read(options);
        observed.bytesRead += chunk?.length ?? 0;
        return chunk;
      },
      seek: (offset: number, origin?: SeekOrigin, options?: SignalOptions) => reader.seek(offset, origin, options),
      async close() {
        observed.readersClosed++;
        await reader.close();
      },
      [Symbol.asyncIterator]: () => reader[Symbol.asyncIterator](),
      [Symbol.asyncDispose]: () => reader.close(),
    };
    return wrapped;
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
