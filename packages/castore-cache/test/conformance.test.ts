// The whole conformance suite over caches of real stores: an in-process near in front of a SQLite
// file, a SQLite near in front of a real gRPC server, and a SQLite near in front of an object store
// on disk. Writes land near (write = near) or in both (write = through); one more arrangement writes
// to far only, so that every read case goes through the read-through path.
import { join } from "node:path";
import { type BlobService, fromAddr, register } from "castore-core";
import { describeBlobService } from "castore-fixtures/vitest";
import { MemoryBlobService } from "castore-memory";
import { corruptForTesting } from "castore-memory/testing";
import { objectStoreBackends } from "castore-objectstore";
import { SqliteBlobService } from "castore-sqlite";
import { isReleased } from "castore-sqlite/testing";
import { CacheBlobService, type CacheBlobServiceOptions } from "../src/index.js";
import { type ServedFar, serveFar } from "./support/served-far.js";
import { tempDir } from "./support/temp.js";

register(...objectStoreBackends);

interface TestCacheOptions extends CacheBlobServiceOptions {
  /**
   * Writes go straight to far while reads go through the cache: the suite's reads then find nothing
   * near and exercise the read-through fill (chunk lists from far, chunks verified and stored near).
   */
  writeFar?: boolean;
  /** The gRPC server behind far, stopped when the cache closes. */
  served?: ServedFar;
}

/** A cache with its tiers in view, for the suite's hooks. */
class TestCache extends CacheBlobService {
  readonly near: BlobService;
  readonly far: BlobService;
  readonly #options: TestCacheOptions;

  constructor(options: TestCacheOptions) {
    super(options);
    this.near = options.near;
    this.far = options.far;
    this.#options = options;
  }

  protected override openWriteImpl(signal: AbortSignal | undefined) {
    return this.#options.writeFar ? this.far.openWrite({ signal }) : super.openWriteImpl(signal);
  }

  protected override async closeImpl(): Promise<void> {
    await super.closeImpl();
    await this.#options.served?.stop();
  }
}

const cacheOf = (service: BlobService) => service as TestCache;

describeBlobService(
  "cache: memory near, SQLite far",
  async () => {
    const near = new MemoryBlobService();
    const far = await SqliteBlobService.open();
    return new TestCache({ near, far });
  },
  {
    backwardSeek: true,
    seekFromEnd: true,
    chunks: true,
    corrupt: async (service, digest) => {
      if (!corruptForTesting(cacheOf(service).near as MemoryBlobService, digest))
        throw new Error(`cannot corrupt ${digest}`);
    },
    storedBlobCount: async (service) => (cacheOf(service).near as MemoryBlobService).blobCount,
    storedBytes: async (service) => (cacheOf(service).near as MemoryBlobService).storedBytes,
    checkReleased: async (service) => {
      const { near, far } = cacheOf(service);
      if ((near as MemoryBlobService).blobCount !== 0 || !isReleased(far as SqliteBlobService))
        throw new Error("a tier was not closed with the cache");
    },
  },
);

describeBlobService(
  "cache: SQLite near, gRPC far (a real server), write = through",
  async () => {
    const near = await SqliteBlobService.open();
    const served = await serveFar();
    return new TestCache({ near, far: served.client, write: "through", served });
  },
  {
    backwardSeek: true,
    seekFromEnd: true,
    chunks: true,
    storedBlobCount: (service) => (cacheOf(service).near as SqliteBlobService).count(),
    storedBytes: (service) => (cacheOf(service).near as SqliteBlobService).storedBytes(),
    checkReleased: async (service) => {
      if (!isReleased(cacheOf(service).near as SqliteBlobService)) throw new Error("near was not closed");
    },
  },
);

describeBlobService(
  "cache: SQLite near, objectstore+file far",
  async () => {
    const near = await SqliteBlobService.open();
    const far = await fromAddr(`objectstore+file://${join(await tempDir(), "far")}?avg_chunk_size=65536`);
    return new TestCache({ near, far });
  },
  {
    backwardSeek: true,
    seekFromEnd: true,
    chunks: true,
    storedBlobCount: (service) => (cacheOf(service).near as SqliteBlobService).count(),
    storedBytes: (service) => (cacheOf(service).near as SqliteBlobService).storedBytes(),
  },
);

describeBlobService(
  "cache read-through: SQLite near, gRPC far (a real server), writes land far",
  async () => {
    const near = await SqliteBlobService.open();
    const served = await serveFar();
    return new TestCache({ near, far: served.client, served, writeFar: true });
  },
  { backwardSeek: true, seekFromEnd: true, chunks: true },
);
