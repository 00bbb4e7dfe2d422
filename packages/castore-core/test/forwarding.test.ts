import { describe, expect, it } from "vitest";
import {
  BytesReader,
  ChunkedReader,
  ForwardingBlobReader,
  ForwardingBlobService,
  ForwardingBlobWriter,
} from "../src/backend.js";
import {
  type B3Digest,
  type BlobReader,
  type BlobWriter,
  type BytesInput,
  canListBlobs,
  canReportStatistics,
  digestOf,
  getBlob,
  isAborted,
  isClosed,
  putBlob,
  type ReadOptions,
  readAll,
  type SignalOptions,
  statisticsOf,
} from "../src/index.js";
import { chunkedBlob } from "./support/chunked-blob.js";
import { CountingMapService, ListingMapService, MapService } from "./support/map-service.js";

const HELLO = new TextEncoder().encode("Hello World!");

/** Upper-cases every chunk a reader hands out; counts writes. */
class Shouting extends ForwardingBlobService {
  writes = 0;
  override async has(digest: B3Digest, options?: SignalOptions): Promise<boolean> {
    return !(await super.has(digest, options));
  }
  protected override wrapReader(reader: BlobReader): BlobReader {
    return new ShoutingReader(reader);
  }
  protected override wrapWriter(writer: BlobWriter): BlobWriter {
    return new CountingWriter(writer, this);
  }
}

class ShoutingReader extends ForwardingBlobReader {
  override async read(options?: ReadOptions): Promise<Uint8Array | undefined> {
    const chunk = await super.read(options);
    return chunk && new TextEncoder().encode(new TextDecoder().decode(chunk).toUpperCase());
  }
}

class CountingWriter extends ForwardingBlobWriter {
  constructor(
    inner: BlobWriter,
    private readonly service: Shouting,
  ) {
    super(inner);
  }
  override write(data: BytesInput, options?: SignalOptions): Promise<void> {
    this.service.writes += 1;
    return super.write(data, options);
  }
}

describe("ForwardingBlobService", () => {
  it("forwards every call unchanged when nothing is overridden", async () => {
    const inner = new MapService();
    const service = new ForwardingBlobService(inner);
    const digest = await putBlob(service, HELLO);
    expect(digest.equals(await digestOf(HELLO))).toBe(true);
    expect(inner.blobs.size).toBe(1);
    expect(await service.has(digest)).toBe(true);
    expect(await service.chunks(digest)).toEqual([]);
    const reader = await service.openRead(digest);
    expect(reader?.size).toBe(12);
    expect(await reader?.seek(6)).toBe(6);
    expect(new TextDecoder().decode(await readAll(reader as BlobReader))).toBe("World!");
    await service.close();
    expect(inner.closed).toBe(true);
    await expect(service.has(digest)).rejects.toSatisfy(isClosed);
  });

  it("a forwarding reader says what the reader behind it holds (maxHeldBytes)", async () => {
    const blob = await chunkedBlob(20_000);
    const chunked = new ChunkedReader(blob.digest, blob.data.length, blob.chunks, {
      openChunk: async (chunk) => blob.store.get(chunk.digest.toHex()),
    });
    expect(new ShoutingReader(chunked).maxHeldBytes).toBe(chunked.maxHeldBytes);
    expect(chunked.maxHeldBytes).toBeGreaterThan(0);
    // A reader that holds nothing of its own says nothing.
    expect(new ShoutingReader(new BytesReader(await digestOf(HELLO), HELLO)).maxHeldBytes).toBeUndefined();
  });

  it("lets a subclass override single methods and wrap readers and writers", async () => {
    const service = new Shouting(new MapService());
    const digest = await putBlob(service, HELLO);
    expect(service.writes).toBe(1);
    expect(await service.has(digest)).toBe(false);
    // Iteration goes through the override of read().
    const reader = (await service.openRead(digest)) as BlobReader;
    const chunks: Uint8Array[] = [];
    for await (const chunk of reader) chunks.push(chunk);
    expect(new TextDecoder().decode(chunks[0])).toBe("HELLO WORLD!");
    expect(new TextDecoder().decode(await getBlob(service, digest))).toBe("HELLO WORLD!");
    await service.close();
  });

  it("has listBlobs exactly when the inner service has it", async () => {
    const plain = new ForwardingBlobService(new MapService());
    expect(canListBlobs(plain)).toBe(false);
    expect("listBlobs" in plain).toBe(false);

    const listing = new ForwardingBlobService(new ListingMapService());
    expect(canListBlobs(listing)).toBe(true);
    const digest = await putBlob(listing, HELLO);
    const listed: string[] = [];
    if (canListBlobs(listing)) for await (const each of listing.listBlobs()) listed.push(each.toString());
    expect(listed).toEqual([digest.toString()]);
    await Promise.all([plain.close(), listing.close()]);
  });

  it("has statistics exactly when the inner service has it, and forwards them as they change", async () => {
    const plain = new ForwardingBlobService(new MapService());
    expect(canReportStatistics(plain)).toBe(false);
    expect(statisticsOf(plain)).toBeUndefined();

    const inner = new CountingMapService();
    const counting = new ForwardingBlobService(inner);
    expect(canReportStatistics(counting)).toBe(true);
    await putBlob(counting, HELLO);
    expect(statisticsOf(counting)).toEqual({ blobs: 1, storedBytes: HELLO.length });
    await Promise.all([plain.close(), counting.close()]);
  });

  it("disposes a forwarded writer by aborting it: nothing is stored", async () => {
    const inner = new MapService();
    const service = new ForwardingBlobService(inner);
    const writer = await service.openWrite();
    await writer.write(HELLO);
    await writer[Symbol.asyncDispose]();
    expect(inner.blobs.size).toBe(0);
    await expect(writer.close()).rejects.toSatisfy((error) => isClosed(error) || isAborted(error));
    await service[Symbol.asyncDispose]();
    expect(inner.closed).toBe(true);
  });
});
