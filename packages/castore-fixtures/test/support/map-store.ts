// A small backend on castore-core's base classes, with a switch for how its reads wait on their "I/O": the fixtures' self-tests run the suite
// against it, healthy and with a reader that ignores cancellation.
import type { B3Digest } from "castore-core";
import {
  BaseBlobReader,
  BaseBlobService,
  BaseBlobWriter,
  concatBytes,
  copyBytes,
  raceAbort,
} from "castore-core/backend";

/**
 * Stands for the store's I/O: a step that completes in a later turn of the event loop, never in a
 * microtask. The test decides when it completes; here, at the next setImmediate, so no timing is
 * involved: only that it is outside the microtask queue.
 */
export const ioStep = () => new Promise<void>((resolve) => setImmediate(resolve));

class MapWriter extends BaseBlobWriter {
  #chunks: Uint8Array[] = [];
  constructor(private readonly blobs: Map<string, Uint8Array>) {
    super();
  }
  protected writeChunk(chunk: Uint8Array): void {
    this.#chunks.push(copyBytes(chunk)); // the caller may reuse its buffer
  }
  protected commit(digest: B3Digest): void {
    if (!this.blobs.has(digest.toString())) this.blobs.set(digest.toString(), concatBytes(this.#chunks));
  }
  protected discard(): void {
    this.#chunks = [];
  }
}

/**
 * Reads the stored bytes after an I/O step (unverified: nothing can change them in this Map, and the
 * self-tests declare no corrupt hook). Healthy, it races the step against the signal; broken,
 * it ignores the signal (and a close) while the step runs, as a naive file reader awaiting
 * `fs.read` does.
 */
class SlowReader extends BaseBlobReader {
  readonly seekable = true;
  readonly size: number;
  constructor(
    digest: B3Digest,
    private readonly bytes: Uint8Array,
    private readonly honoursSignal: boolean,
  ) {
    super(digest);
    this.size = bytes.length;
  }
  protected async readChunk(maxBytes: number, signal: AbortSignal | undefined): Promise<Uint8Array | undefined> {
    await (this.honoursSignal ? raceAbort(ioStep(), signal) : ioStep());
    if (this.position >= this.size) return undefined;
    return copyBytes(this.bytes, this.position, Math.min(this.size, this.position + maxBytes, this.position + 65_536));
  }
  protected async seekTo(): Promise<void> {}
}

export class MapStore extends BaseBlobService {
  readonly blobs = new Map<string, Uint8Array>();
  constructor(private readonly readers: { honoursSignal: boolean } = { honoursSignal: true }) {
    super();
  }
  protected async hasImpl(digest: B3Digest): Promise<boolean> {
    return this.blobs.has(digest.toString());
  }
  protected async openReadImpl(digest: B3Digest): Promise<BaseBlobReader | undefined> {
    const bytes = this.blobs.get(digest.toString());
    return bytes && new SlowReader(digest, bytes, this.readers.honoursSignal);
  }
  protected async openWriteImpl(): Promise<BaseBlobWriter> {
    return new MapWriter(this.blobs);
  }
}
