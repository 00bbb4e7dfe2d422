// Deliberately broken BlobServices, made by wrapping a healthy MemoryBlobService, each with one
// realistic bug. The conformance suite must fail each of them: that is how the suite itself is tested.
import {
  type B3Digest,
  type BlobReader,
  type BlobService,
  type BlobWriter,
  type BytesInput,
  type ChunkMeta,
  ClosedError,
  isCastoreError,
  type ReadOptions,
  readAll,
  type SeekOrigin,
  type SignalOptions,
} from "castore-core";
import {
  abortedError,
  BytesReader,
  chunksOf,
  ForwardingBlobReader,
  ForwardingBlobService,
  ForwardingBlobWriter,
} from "castore-core/backend";
import { type BlobServiceCapabilities, HELLOWORLD } from "castore-fixtures";
import { MemoryBlobService } from "../../src/index.js";
import { corruptForTesting } from "../../src/testing.js";

interface Bugs {
  reader?: (inner: BlobReader, service: ForwardingService) => BlobReader;
  writer?: (inner: BlobWriter, service: ForwardingService) => BlobWriter;
  /** Rewrites the chunk list chunks() returns. */
  chunkList?: (chunks: ChunkMeta[] | undefined) => ChunkMeta[] | undefined;
  /** Drops the signal from every service call. */
  ignoreSignals?: boolean;
  /** close() first waits for every write in progress to finish. */
  closeWaitsForWrites?: boolean;
  /** Serves blobs it has read before from its own cache, checking only at the call that it is open. */
  cachesReads?: boolean;
}

/** A service over a healthy MemoryBlobService with the given bugs (core's forwarding decorator). */
export class ForwardingService extends ForwardingBlobService<MemoryBlobService> {
  /** State some bugs keep across calls. */
  readonly memo = new Map<string, unknown>();

  constructor(private readonly bugs: Bugs = {}) {
    super(new MemoryBlobService());
  }

  #options(options?: SignalOptions): SignalOptions | undefined {
    return this.bugs.ignoreSignals ? undefined : options;
  }
  readonly #writes = new Set<Promise<unknown>>();
  readonly #cache = new Map<string, Uint8Array>();

  override has(digest: B3Digest, options?: SignalOptions): Promise<boolean> {
    return super.has(digest, this.#options(options));
  }
  override async chunks(digest: B3Digest, options?: SignalOptions): Promise<ChunkMeta[] | undefined> {
    const chunks = await super.chunks(digest, this.#options(options));
    return this.bugs.chunkList ? this.bugs.chunkList(chunks) : chunks;
  }
  override async openRead(digest: B3Digest, options?: SignalOptions): Promise<BlobReader | undefined> {
    if (this.bugs.cachesReads) {
      if (this.inner.closed) throw new ClosedError("blob service is closed");
      const cached = this.#cache.get(digest.toString());
      if (cached) return new BytesReader(digest, cached);
      const bytes = await this.#fetch(digest);
      if (bytes) this.#cache.set(digest.toString(), bytes);
    }
    return super.openRead(digest, this.#options(options));
  }
  override openWrite(options?: SignalOptions): Promise<BlobWriter> {
    return super.openWrite(this.#options(options));
  }
  protected override wrapReader(reader: BlobReader): BlobReader {
    return this.bugs.reader?.(reader, this) ?? reader;
  }
  protected override wrapWriter(writer: BlobWriter): BlobWriter {
    const broken = this.bugs.writer?.(writer, this) ?? writer;
    return this.bugs.closeWaitsForWrites ? new TrackedWrites(broken, this.#writes) : broken;
  }
  override async close(): Promise<void> {
    if (this.bugs.closeWaitsForWrites) await Promise.allSettled(this.#writes);
    return super.close();
  }
  async #fetch(digest: B3Digest): Promise<Uint8Array | undefined> {
    const reader = await this.inner.openRead(digest);
    return reader && readAll(reader);
  }
}

/** The capabilities of the healthy backend underneath, which the broken ones claim too. */
export const forwardingCapabilities: BlobServiceCapabilities = {
  backwardSeek: true,
  seekFromEnd: true,
  corrupt: async (service, digest) => {
    if (!corruptForTesting((service as ForwardingService).inner, digest)) throw new Error(`cannot corrupt ${digest}`);
  },
  storedBlobCount: async (service) => (service as ForwardingService).inner.blobCount,
  chunks: true,
  storedBytes: async (service) => (service as ForwardingService).inner.storedBytes,
};

/** Readers lose the blob's last byte. */
class DropsLastByte extends ForwardingBlobReader {
  override async read(options?: ReadOptions): Promise<Uint8Array | undefined> {
    const chunk = await this.inner.read(options);
    if (chunk === undefined || this.inner.position !== this.inner.size) return chunk;
    return chunk.length > 1 ? chunk.subarray(0, -1) : undefined;
  }
}

/** seek() reports the new position but reads go on where they were. */
class IgnoresSeek extends ForwardingBlobReader {
  #claimed = 0;
  override get position(): number {
    return this.#claimed;
  }
  override async read(options?: ReadOptions): Promise<Uint8Array | undefined> {
    const chunk = await this.inner.read(options);
    if (chunk) this.#claimed += chunk.length;
    return chunk;
  }
  override async seek(offset: number, origin: SeekOrigin = "start"): Promise<number> {
    const base = origin === "start" ? 0 : origin === "current" ? this.#claimed : (this.inner.size ?? 0);
    if (base + offset < 0 || !Number.isSafeInteger(offset)) return this.inner.seek(offset, origin);
    this.#claimed = base + offset;
    return this.#claimed;
  }
}

/** close() returns the digest of the first blob this service ever stored. */
class StaleDigest extends ForwardingBlobWriter {
  constructor(
    inner: BlobWriter,
    private readonly service: ForwardingService,
  ) {
    super(inner);
  }
  override async close(options?: SignalOptions): Promise<B3Digest> {
    const digest = await this.inner.close(options);
    const first = (this.service.memo.get("first digest") as B3Digest | undefined) ?? digest;
    this.service.memo.set("first digest", first);
    return first;
  }
}

/** abort() and dispose commit what was written instead of discarding it. */
class StoresOnAbort extends ForwardingBlobWriter {
  override async abort(): Promise<void> {
    await this.inner.close().catch(() => {});
  }
}

/** write() keeps the caller's buffers and only copies them at close. */
class KeepsCallerBuffers extends ForwardingBlobWriter {
  #held: Uint8Array[] = [];
  override async write(data: BytesInput, options?: SignalOptions): Promise<void> {
    for await (const chunk of chunksOf(data, options)) this.#held.push(chunk);
  }
  override get bytesWritten(): number {
    return this.#held.reduce((sum, chunk) => sum + chunk.length, 0);
  }
  override async close(options?: SignalOptions): Promise<B3Digest> {
    const held = this.#held;
    this.#held = [];
    if (held.length > 0) await this.inner.write(held, options);
    return this.inner.close(options);
  }
}

/** A read cache that hands every caller the same chunk objects. */
class SharedReadCache extends ForwardingBlobReader {
  constructor(
    inner: BlobReader,
    private readonly service: ForwardingService,
  ) {
    super(inner);
  }
  override async read(options?: ReadOptions): Promise<Uint8Array | undefined> {
    const key = `${this.inner.digest}@${this.inner.position}/${options?.maxBytes}`;
    const cached = this.service.memo.get(key) as Uint8Array | undefined;
    if (cached) {
      await this.inner.seek(cached.length, "current");
      return cached;
    }
    const chunk = await this.inner.read(options);
    if (chunk) this.service.memo.set(key, chunk);
    return chunk;
  }
}

/** An Integrity error is swallowed and reported as the end of the blob. */
class SwallowsIntegrityErrors extends ForwardingBlobReader {
  override async read(options?: ReadOptions): Promise<Uint8Array | undefined> {
    try {
      return await this.inner.read(options);
    } catch (error) {
      if (isCastoreError(error, "Integrity")) return undefined;
      throw error;
    }
  }
}

/** Records its writes in progress, for a service that waits for them on close. */
class TrackedWrites extends ForwardingBlobWriter {
  constructor(
    inner: BlobWriter,
    private readonly writes: Set<Promise<unknown>>,
  ) {
    super(inner);
  }
  override write(data: BytesInput, options?: SignalOptions): Promise<void> {
    const writing = this.inner.write(data, options);
    const settled = writing.catch(() => {});
    this.writes.add(settled);
    void settled.then(() => this.writes.delete(settled));
    return writing;
  }
}

/** abort() waits for the write in progress to finish first, so a write on a stalled source hangs it. */
class AbortWaitsForWrite extends ForwardingBlobWriter {
  #writing: Promise<unknown> = Promise.resolve();
  override write(data: BytesInput, options?: SignalOptions): Promise<void> {
    const writing = this.inner.write(data, options);
    this.#writing = writing.catch(() => {});
    return writing;
  }
  override async abort(reason?: unknown): Promise<void> {
    await this.#writing;
    return this.inner.abort(reason);
  }
}

/**
 * Reads at the position it had when called and advances it only after an asynchronous step, so
 * overlapping reads hand out the same bytes twice.
 */
class AdvancesPositionLate extends ForwardingBlobReader {
  #bytes: Promise<Uint8Array> | undefined;
  #position = 0;
  override get position(): number {
    return this.#position;
  }
  override async read(options?: ReadOptions): Promise<Uint8Array | undefined> {
    this.#bytes ??= readAll(this.inner);
    const bytes = await this.#bytes;
    const at = this.#position;
    const chunk = bytes.slice(at, at + Math.min(options?.maxBytes ?? bytes.length, bytes.length - at));
    await Promise.resolve(); // say, handing the copy over from a worker
    this.#position = at + chunk.length;
    return chunk.length > 0 ? chunk : undefined;
  }
  override async seek(offset: number, origin: SeekOrigin = "start"): Promise<number> {
    const base = origin === "start" ? 0 : origin === "current" ? this.#position : (this.inner.size ?? 0);
    this.#position = base + offset;
    return this.#position;
  }
}

/**
 * Like a network reader whose cancelled read leaves its step waiting on a stalled connection, and
 * whose close() waits for that step.
 */
class CloseWaitsForCancelledRead extends ForwardingBlobReader {
  #leftRunning: Promise<unknown> | undefined;
  override async read(options?: ReadOptions): Promise<Uint8Array | undefined> {
    const chunk = await this.inner.read({ maxBytes: options?.maxBytes });
    if (options?.signal?.aborted) {
      this.#leftRunning = new Promise(() => {});
      throw abortedError(options.signal);
    }
    return chunk;
  }
  override async close(): Promise<void> {
    await this.#leftRunning;
    return this.inner.close();
  }
}

/** Each broken backend, and the conformance cases (ids) that must catch it (and, if given, the only cases run). */
export const brokenBackends: {
  name: string;
  create: () => BlobService;
  mustFail: string[];
  only?: boolean;
}[] = [
  {
    name: "drops the last byte",
    create: () => new ForwardingService({ reader: (r) => new DropsLastByte(r) }),
    mustFail: [
      "roundtrip/helloworld",
      "roundtrip/blob_a",
      "roundtrip/blob_b",
      "roundtrip/blob_c",
      "reader/seek-from-end",
    ],
  },
  {
    name: "ignores seek",
    create: () => new ForwardingService({ reader: (r) => new IgnoresSeek(r) }),
    mustFail: ["reader/rust-seek-sequence", "reader/backward-seek", "reader/seek-from-end"],
  },
  {
    name: "returns a stale digest",
    create: () => new ForwardingService({ writer: (w, s) => new StaleDigest(w, s) }),
    mustFail: ["roundtrip/all-fixtures-in-one-store", "writer/interleaved-writers", "concurrency/hundred-writers"],
  },
  {
    name: "stores on abort",
    create: () => new ForwardingService({ writer: (w) => new StoresOnAbort(w) }),
    mustFail: ["writer/abort", "writer/dispose-without-close"],
  },
  {
    name: "keeps the caller's buffers",
    create: () => new ForwardingService({ writer: (w) => new KeepsCallerBuffers(w) }),
    mustFail: ["roundtrip/reused-input-buffer", "roundtrip/reused-iterable-buffer"],
  },
  {
    name: "shares cached chunks between readers",
    create: () => new ForwardingService({ reader: (r, s) => new SharedReadCache(r, s) }),
    mustFail: ["roundtrip/read-results-are-private"],
  },
  {
    name: "ignores abort signals",
    create: () => new ForwardingService({ ignoreSignals: true }),
    mustFail: ["abort/already-aborted-signal"],
  },
  {
    name: "reports corruption as a clean end",
    create: () => new ForwardingService({ reader: (r) => new SwallowsIntegrityErrors(r) }),
    mustFail: ["integrity/full-read-blob_b", "integrity/full-read-blob_c", "integrity/error-is-sticky"],
  },
  {
    name: "lists chunks that do not cover the blob",
    create: () => new ForwardingService({ chunkList: (chunks) => chunks?.slice(0, -1) }),
    mustFail: ["chunks/list-shape", "chunks/chunks-are-blobs", "chunks/random-reads", "chunks/shared-region"],
  },
  {
    name: "lists a one-piece blob as its own single chunk",
    create: () =>
      new ForwardingService({
        chunkList: (chunks) => (chunks?.length === 0 ? [{ digest: HELLOWORLD.digest, size: 12 }] : chunks),
      }),
    mustFail: ["chunks/list-shape"],
  },
  // Races: only the cases aimed at them run, since each failure waits out the suite's hang bound.
  {
    name: "advances a reader's position only after an asynchronous step",
    create: () => new ForwardingService({ reader: (r) => new AdvancesPositionLate(r) }),
    mustFail: ["reader/overlapping-calls"],
    only: true,
  },
  {
    name: "closes a reader only after its cancelled read's stalled step",
    create: () => new ForwardingService({ reader: (r) => new CloseWaitsForCancelledRead(r) }),
    mustFail: ["reader/close-during-read"],
    only: true,
  },
  {
    name: "aborts a writer only after its write in progress finished",
    create: () => new ForwardingService({ writer: (w) => new AbortWaitsForWrite(w) }),
    mustFail: ["abort/abort-stalled-write-without-signal"],
    only: true,
  },
  {
    name: "closes only after every write in progress finished",
    create: () => new ForwardingService({ closeWaitsForWrites: true }),
    mustFail: ["lifecycle/close-during-stalled-write"],
    only: true,
  },
  {
    name: "serves cached blobs through readers its close does not reach",
    create: () => new ForwardingService({ cachesReads: true }),
    mustFail: ["lifecycle/opens-racing-close"],
    only: true,
  },
];
