import {
  AbortedError,
  type B3Digest,
  type BlobReader,
  type BlobService,
  type BlobWriter,
  type BytesInput,
  type ChunkMeta,
  isCastoreError,
  type ReadOptions,
  type SignalOptions,
} from "castore-core";
import { chunksOf, ForwardingBlobReader, ForwardingBlobService, ForwardingBlobWriter } from "castore-core/backend";
import type { Logger } from "../logger.js";
import type { StoreEvents } from "./metrics.js";

/**
 * The store as the daemon serves it: every call passes straight through, and what happens is
 * logged (requests at debug; aborted uploads at info; failures at warn, corrupt blobs at error).
 * It also knows which uploads are unfinished, so shutdown can abort them: an upload cut short by a
 * shutdown stores nothing. `events`, when given, hears of stored blobs and integrity failures (metrics).
 */
export class LoggedBlobService extends ForwardingBlobService {
  readonly #logger: Logger;
  readonly #events: StoreEvents | undefined;
  readonly #uploads = new Set<LoggedWriter>();

  constructor(inner: BlobService, logger: Logger, events?: StoreEvents) {
    super(inner);
    this.#logger = logger;
    this.#events = events;
  }

  override async has(digest: B3Digest, options?: SignalOptions): Promise<boolean> {
    const present = await this.#watch("stat", digest, () => super.has(digest, options));
    this.#logger.debug("stat", { digest, present });
    return present;
  }

  override async openRead(digest: B3Digest, options?: SignalOptions): Promise<BlobReader | undefined> {
    const reader = await this.#watch("read", digest, () => super.openRead(digest, options));
    this.#logger.debug("read", { digest, present: reader !== undefined, size: reader?.size });
    return reader;
  }

  override async chunks(digest: B3Digest, options?: SignalOptions): Promise<ChunkMeta[] | undefined> {
    const chunks = await this.#watch("chunks", digest, () => super.chunks(digest, options));
    this.#logger.debug("chunks", { digest, present: chunks !== undefined, chunks: chunks?.length });
    return chunks;
  }

  override async openWrite(options?: SignalOptions): Promise<BlobWriter> {
    const writer = await this.#watch("put", undefined, () => super.openWrite(options));
    this.#logger.debug("upload started");
    return writer;
  }

  protected override wrapReader(reader: BlobReader): BlobReader {
    return new LoggedReader(reader, this.#logger, this.#events);
  }

  protected override wrapWriter(writer: BlobWriter): BlobWriter {
    const logged = new LoggedWriter(writer, this.#logger, this.#events, () => this.#uploads.delete(logged));
    this.#uploads.add(logged);
    return logged;
  }

  /** How many uploads have started and not yet finished. */
  get unfinishedUploads(): number {
    return this.#uploads.size;
  }

  /** Aborts every unfinished upload (shutdown): none of them becomes a blob. */
  async abortUploads(reason: string): Promise<void> {
    await Promise.allSettled([...this.#uploads].map((upload) => upload.abort(new AbortedError(reason))));
  }

  async #watch<T>(operation: string, digest: B3Digest | undefined, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      logFailure(this.#logger, this.#events, operation, digest, error);
      throw error;
    }
  }
}

function logFailure(
  logger: Logger,
  events: StoreEvents | undefined,
  operation: string,
  digest: B3Digest | undefined,
  error: unknown,
): void {
  const fields = { op: operation, digest, error };
  if (isCastoreError(error, "Integrity")) {
    logger.error("corrupt blob", fields);
    events?.integrityFailure();
  } else if (isCastoreError(error, "Aborted") || isCastoreError(error, "NotFound"))
    logger.debug("request ended", fields);
  else logger.warn("request failed", fields);
}

class LoggedReader extends ForwardingBlobReader {
  readonly #logger: Logger;
  readonly #events: StoreEvents | undefined;

  constructor(inner: BlobReader, logger: Logger, events: StoreEvents | undefined) {
    super(inner);
    this.#logger = logger;
    this.#events = events;
  }

  // Iteration is core's over this read() (ForwardingBlobReader), so its failures are logged too and
  // an early exit closes the reader.
  override async read(options?: ReadOptions): Promise<Uint8Array | undefined> {
    try {
      return await super.read(options);
    } catch (error) {
      logFailure(this.#logger, this.#events, "read", this.digest, error);
      throw error;
    }
  }
}

class LoggedWriter extends ForwardingBlobWriter {
  readonly #logger: Logger;
  readonly #events: StoreEvents | undefined;
  readonly #onFinished: () => void;
  #finished = false;
  #receiving = false;

  constructor(inner: BlobWriter, logger: Logger, events: StoreEvents | undefined, onFinished: () => void) {
    super(inner);
    this.#logger = logger;
    this.#events = events;
    this.#onFinished = onFinished;
  }

  override async write(data: BytesInput, options?: SignalOptions): Promise<void> {
    try {
      await super.write(this.#logger.enabled("debug") ? this.#noticeFirstBytes(data) : data, options);
    } catch (error) {
      this.#endUnstored(error);
      throw error;
    }
  }

  override async close(options?: SignalOptions): Promise<B3Digest> {
    let digest: B3Digest;
    try {
      digest = await super.close(options);
    } catch (error) {
      this.#endUnstored(error);
      throw error;
    }
    if (this.#finish()) {
      this.#logger.debug("stored", { digest, bytes: this.bytesWritten });
      this.#events?.blobStored(this.bytesWritten);
    }
    return digest;
  }

  override async abort(reason?: unknown): Promise<void> {
    this.#endUnstored(reason ?? new AbortedError("upload aborted"));
    await super.abort(reason);
  }

  /** `data`, logging (at debug, once per upload) when its first bytes arrive: an upload is flowing. */
  async *#noticeFirstBytes(data: BytesInput): AsyncGenerator<Uint8Array> {
    for await (const chunk of chunksOf(data)) {
      if (!this.#receiving && chunk.length > 0) {
        this.#receiving = true;
        this.#logger.debug("upload receiving", { bytes: chunk.length });
      }
      yield chunk;
    }
  }

  /** The upload ended without a blob: say so once (aborted at info, anything else as a failure). */
  #endUnstored(reason: unknown): void {
    if (!this.#finish()) return;
    const fields = { bytes: this.bytesWritten, reason };
    if (reason === undefined || isCastoreError(reason, "Aborted") || isCastoreError(reason, "Closed")) {
      this.#logger.info("upload aborted, nothing stored", fields);
    } else {
      logFailure(this.#logger, this.#events, "put", undefined, reason);
    }
  }

  /** Marks the upload finished; false if it already was. */
  #finish(): boolean {
    if (this.#finished) return false;
    this.#finished = true;
    this.#onFinished();
    return true;
  }
}
