// Calls that overlap or race a close: each must behave as if the calls had been made one by one.
import { describe, expect, it } from "vitest";
import { BaseBlobService, BaseBlobWriter, BytesReader, ForwardSeeker } from "../src/backend.js";
import {
  type B3Digest,
  type BlobReader,
  type BlobWriter,
  digestOf,
  isAborted,
  isClosed,
  readAll,
} from "../src/index.js";

const blob = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + 5) & 0xff);
const never = <T>() => new Promise<T>(() => {});
const stalledSource = (first?: Uint8Array): AsyncIterable<Uint8Array> => ({
  async *[Symbol.asyncIterator]() {
    if (first) yield first;
    await never();
  },
});
/** Resolves with "pending" if the promise has not settled within `ms`. */
const settlesWithin = (promise: Promise<unknown>, ms: number) =>
  Promise.race([
    promise.then(
      () => "settled",
      () => "settled",
    ),
    new Promise((r) => setTimeout(() => r("pending"), ms)),
  ]);

class ListWriter extends BaseBlobWriter {
  readonly stored: Uint8Array[] = [];
  protected writeChunk(chunk: Uint8Array) {
    this.stored.push(chunk.slice());
  }
  protected commit() {}
  protected discard() {}
}

describe("overlapping calls on one reader", () => {
  for (const [name, make] of [
    ["BytesReader", async (data: Uint8Array) => new BytesReader(await digestOf(data), data, { chunkSize: 1000 })],
    [
      "ForwardSeeker",
      async (data: Uint8Array) =>
        new ForwardSeeker(
          await digestOf(data),
          (async function* () {
            for (let i = 0; i < data.length; i += 1000) yield data.slice(i, i + 1000);
          })(),
        ),
    ],
  ] as const) {
    it(`${name}: concurrent reads and seeks run in call order and hand out each byte once`, async () => {
      const data = blob(10_000);
      const reader: BlobReader = await make(data);
      const parts = await Promise.all([
        reader.read({ maxBytes: 700 }),
        reader.read({ maxBytes: 700 }),
        reader.seek(3000),
        reader.read({ maxBytes: 500 }),
      ]);
      expect(Buffer.from(parts[0] as Uint8Array).equals(Buffer.from(data.subarray(0, 700)))).toBe(true);
      // the second read continues where the first ended (how far it gets depends on the reader's chunking)
      const second = parts[1] as Uint8Array;
      expect(Buffer.from(second).equals(Buffer.from(data.subarray(700, 700 + second.length)))).toBe(true);
      expect(parts[2]).toBe(3000);
      expect(Buffer.from(parts[3] as Uint8Array).equals(Buffer.from(data.subarray(3000, 3500)))).toBe(true);
      expect(Buffer.from(await readAll(reader)).equals(Buffer.from(data.subarray(3500)))).toBe(true);
    });
  }
});

describe("stalled sources", () => {
  it("abort() stops a write waiting on a stalled source that has no signal", async () => {
    const writer = new ListWriter();
    const writing = writer.write(stalledSource(Uint8Array.of(1, 2, 3)));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await settlesWithin(writer.abort(), 1000)).toBe("settled");
    await expect(writing).rejects.toSatisfy(isAborted);
  });

  it("closing a ForwardSeeker with a source step in flight does not wait for the source", async () => {
    const reader = new ForwardSeeker(await digestOf(new Uint8Array(0)), stalledSource());
    const controller = new AbortController();
    const reading = reader.read({ signal: controller.signal });
    controller.abort();
    await expect(reading).rejects.toSatisfy(isAborted);
    expect(await settlesWithin(reader.close(), 1000)).toBe("settled");
  });
});

/** A service whose opens take a while, to race them against close(). */
class SlowService extends BaseBlobService {
  readonly data = blob(100);
  digest: B3Digest | undefined;
  writers: ListWriter[] = [];
  protected async hasImpl() {
    return false;
  }
  protected async openReadImpl(digest: B3Digest) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    return new BytesReader(digest, this.data);
  }
  protected async openWriteImpl(): Promise<BlobWriter> {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const writer = new ListWriter();
    this.writers.push(writer);
    return writer;
  }
}

describe("opens racing close()", () => {
  it("an open in flight when the service closes fails with Closed and leaves nothing live", async () => {
    const service = new SlowService();
    const digest = await digestOf(service.data);
    const opening = [service.openRead(digest), service.openWrite()];
    await service.close();
    for (const result of await Promise.allSettled(opening)) {
      expect(result.status).toBe("rejected");
      expect(isClosed((result as PromiseRejectedResult).reason)).toBe(true);
    }
    await expect(service.writers[0]?.close()).rejects.toSatisfy(isClosed);
  });

  it("close() aborts unclosed writers and closes open readers", async () => {
    const service = new SlowService();
    const writer = await service.openWrite();
    await writer.write(Uint8Array.of(1));
    const reader = await service.openRead(await digestOf(service.data));
    await service.close();
    await expect(writer.close()).rejects.toSatisfy(isClosed);
    await expect(reader?.read() as Promise<unknown>).rejects.toSatisfy(isClosed);
    await expect(service.has(await digestOf(service.data))).rejects.toSatisfy(isClosed);
  });
});

describe("BytesReader over segments", () => {
  it("reads and seeks across segment boundaries like one array", async () => {
    const data = blob(5000);
    const segments = [data.subarray(0, 1), data.subarray(1, 1), data.subarray(1, 2048), data.subarray(2048)];
    const reader = new BytesReader(await digestOf(data), segments, { chunkSize: 300 });
    expect(reader.size).toBe(5000);
    await reader.seek(2040);
    const chunk = await reader.read();
    expect(Buffer.from(chunk as Uint8Array).equals(Buffer.from(data.subarray(2040, 2048)))).toBe(true);
    await reader.seek(0);
    expect(Buffer.from(await readAll(reader)).equals(Buffer.from(data))).toBe(true);
  });

  it("refuses a chunk size that would never make progress", async () => {
    const digest = await digestOf(new Uint8Array(0));
    for (const chunkSize of [0, -1, 1.5]) {
      expect(() => new BytesReader(digest, new Uint8Array(1), { chunkSize })).toThrow(
        /chunkSize must be a positive integer/,
      );
    }
  });
});
