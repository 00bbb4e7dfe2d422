import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChunkedReader, type ChunkedReaderOptions } from "../src/backend.js";
import { type ChunkMeta, isAborted, isIntegrity, readAll } from "../src/index.js";
import { type ChunkedBlob, chunkedBlob, readBytes, rejection, same } from "./support/chunked-blob.js";

type Blob = ChunkedBlob;

/**
 * A store that serves chunks one by one and the whole blob as one stream (in pieces of `pieceBytes`,
 * which straddle chunk boundaries), and records what was asked of it: the chunks fetched one by one,
 * and for each stream opened, how far it was read, whether it ran to its end and whether it was cancelled.
 */
function recordingStore(blob: Blob, stream: Uint8Array = blob.data, pieceBytes = 777) {
  const fetched: number[] = [];
  const streams: { read: number; ended: boolean; cancelled: boolean }[] = [];
  /** For each stream opened: settles when it is cancelled. */
  const cancellations: Promise<void>[] = [];
  const indexOf = new Map(blob.chunks.map((chunk, i) => [chunk.digest.toHex(), i]));
  const options: Pick<ChunkedReaderOptions, "openChunk" | "openBlobStream"> = {
    openChunk: async (chunk) => {
      fetched.push(indexOf.get(chunk.digest.toHex()) as number);
      return blob.store.get(chunk.digest.toHex());
    },
    openBlobStream: async (signal) => {
      const record = { read: 0, ended: false, cancelled: false };
      streams.push(record);
      cancellations.push(
        new Promise((resolve) =>
          signal.addEventListener("abort", () => {
            record.cancelled = true;
            resolve();
          }),
        ),
      );
      return (async function* () {
        for (let at = 0; at < stream.length; at += pieceBytes) {
          if (signal.aborted) throw signal.reason;
          const piece = stream.slice(at, at + pieceBytes);
          record.read += piece.length;
          yield piece;
        }
        record.ended = true;
      })();
    },
  };
  return { fetched, streams, cancellations, options };
}

function open(blob: Blob, options: ChunkedReaderOptions): ChunkedReader {
  return new ChunkedReader(blob.digest, blob.data.length, blob.chunks, options);
}

describe("ChunkedReader with a stream of the whole blob", () => {
  it("reads from the start through one stream, cut at the chunk boundaries, fetching no chunk on its own", async () => {
    const blob = await chunkedBlob(100_000, 5);
    expect(blob.chunks.length).toBeGreaterThan(20);
    const store = recordingStore(blob);
    const reader = open(blob, { ...store.options, window: 8 });
    expect(same(await readAll(reader), blob.data)).toBe(true);
    await reader.close();
    expect(store.fetched).toEqual([]);
    // The stream ran to its own end: a remote call completes rather than being cancelled.
    expect(store.streams).toEqual([{ read: blob.data.length, ended: true, cancelled: false }]);
  });

  it("reads no further ahead than the reader's read-ahead", async () => {
    const blob = await chunkedBlob(100_000, 5);
    const store = recordingStore(blob);
    const reader = open(blob, { ...store.options, window: 3 });
    const first = await reader.read({ maxBytes: 10 });
    expect(same(first as Uint8Array, blob.data.subarray(0, 10))).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    const ahead = blob.chunks.slice(0, 3).reduce((sum, chunk) => sum + chunk.size, 0);
    // At most the chunks held (the current one and two ahead), plus the piece that crosses the boundary.
    expect(store.streams[0]?.read).toBeLessThan(ahead + 777);
    await reader.close();
    expect(store.streams[0]?.cancelled).toBe(true);
  });

  it("after a seek, fetches chunks on their own and cancels the stream; a seek to 0 streams again", async () => {
    const blob = await chunkedBlob(60_000, 5);
    const store = recordingStore(blob);
    const reader = open(blob, { ...store.options, window: 4 });
    expect(same(await readBytes(reader, 5000), blob.data.subarray(0, 5000))).toBe(true);
    await reader.seek(40_000);
    expect(same(await readBytes(reader, 3000), blob.data.subarray(40_000, 43_000))).toBe(true);
    expect(store.streams).toHaveLength(1);
    expect(store.streams[0]?.cancelled).toBe(true);
    expect(store.fetched.length).toBeGreaterThan(0);
    const fetchedBefore = store.fetched.length;
    await reader.seek(0);
    expect(same(await readAll(reader), blob.data)).toBe(true);
    expect(store.streams).toHaveLength(2);
    expect(store.streams[1]).toEqual({ read: blob.data.length, ended: true, cancelled: false });
    expect(store.fetched.length).toBe(fetchedBefore);
    await reader.close();
  });

  it("cancels a retired stream as soon as the claims left are all abandoned, reading none of their bytes", async () => {
    const blob = await chunkedBlob(30_000, 9);
    const [first, second] = blob.chunks as [ChunkMeta, ChunkMeta];
    let cancelled = false;
    let releaseSecond: () => void = () => {};
    const secondHeld = new Promise<void>((resolve) => {
      releaseSecond = resolve;
    });
    const reader = open(blob, {
      window: 3,
      openChunk: async (chunk) => blob.store.get(chunk.digest.toHex()),
      // Chunk 0 at once, chunk 1 when released, then nothing until cancelled.
      openBlobStream: async (signal) => {
        const aborted = new Promise((resolve) => signal.addEventListener("abort", resolve));
        signal.addEventListener("abort", () => {
          cancelled = true;
        });
        return (async function* () {
          yield blob.data.slice(0, first.size);
          await secondHeld;
          yield blob.data.slice(first.size, first.size + second.size);
          await aborted;
          throw signal.reason;
        })();
      },
    });
    await readBytes(reader, 1); // claims chunks 0, 1 and 2 from the stream
    const into = first.size + 10;
    await reader.seek(into); // retires the stream: chunk 1's claim is still wanted
    const reading = readBytes(reader, 5); // abandons chunk 2's claim while chunk 1's waits
    releaseSecond();
    expect(same(await reading, blob.data.subarray(into, into + 5))).toBe(true);
    // Found by the property below: the stream waited for chunk 2's bytes, only to throw them away,
    // and stayed open even after the reader closed.
    expect(cancelled).toBe(true);
    await reader.close();
  });

  it("matches slicing under random seeks and reads (property)", async () => {
    const blob = await chunkedBlob(30_000, 9);
    const size = blob.data.length;
    const step = fc.oneof(
      fc.record({ op: fc.constant("read" as const), max: fc.integer({ min: 1, max: 9000 }) }),
      fc.record({ op: fc.constant("seek" as const), to: fc.integer({ min: 0, max: size + 5 }) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { maxLength: 20 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5000 }),
        async (steps, window, pieceBytes) => {
          const store = recordingStore(blob, blob.data, pieceBytes);
          const reader = open(blob, { ...store.options, window });
          let position = 0;
          for (const s of steps) {
            if (s.op === "read") {
              const got = await readBytes(reader, s.max);
              expect(same(got, blob.data.subarray(position, position + s.max))).toBe(true);
              position += got.length;
            } else {
              await reader.seek(s.to);
              position = s.to;
            }
          }
          expect(same(await readAll(reader), blob.data.subarray(position))).toBe(true);
          await reader.close();
          expect(store.streams.every((stream) => stream.ended || stream.cancelled)).toBe(true);
        },
      ),
      { numRuns: 80 },
    );
  });

  it("fails the reads that reach a chunk the stream delivers damaged, with Integrity", async () => {
    const blob = await chunkedBlob(60_000, 5);
    const damaged = blob.data.slice();
    const victim = 10;
    const victimStart = blob.chunks.slice(0, victim).reduce((sum, chunk) => sum + chunk.size, 0);
    damaged[victimStart + 3] = (damaged[victimStart + 3] as number) ^ 1;
    const store = recordingStore(blob, damaged);
    const reader = open(blob, { ...store.options, window: 4 });
    // Everything before the damaged chunk is served, proven chunk by chunk.
    expect(same(await readBytes(reader, victimStart), blob.data.subarray(0, victimStart))).toBe(true);
    expect(isIntegrity(await rejection(reader.read()))).toBe(true);
    await reader.close();
  });

  it("reports a stream shorter than the chunks, or a blob the store no longer has, as Integrity", async () => {
    const blob = await chunkedBlob(20_000, 5);
    const short = recordingStore(blob, blob.data.subarray(0, 15_000));
    const shortError = await rejection(readAll(open(blob, short.options)));
    expect(isIntegrity(shortError)).toBe(true);
    expect(String(shortError)).toMatch(/shorter than its chunks/);

    const gone = open(blob, { ...short.options, openBlobStream: async () => undefined });
    const goneError = await rejection(readAll(gone));
    expect(isIntegrity(goneError)).toBe(true);
    expect(String(goneError)).toMatch(/no longer has it/);
  });

  it("a stream with bytes past the blob's end is cancelled once the last chunk is served", async () => {
    const blob = await chunkedBlob(20_000, 5);
    const longer = new Uint8Array(blob.data.length + 5000);
    longer.set(blob.data);
    const store = recordingStore(blob, longer, 1000);
    expect(same(await readAll(open(blob, store.options)), blob.data)).toBe(true);
    await store.cancellations[0];
    expect(store.streams[0]).toMatchObject({ ended: false, cancelled: true });
  });

  it("a read whose signal fires keeps its place: the next read continues from the stream", async () => {
    const blob = await chunkedBlob(40_000, 5);
    const store = recordingStore(blob);
    const reader = open(blob, { ...store.options, window: 4 });
    const head = await readBytes(reader, 2000);
    const controller = new AbortController();
    controller.abort();
    expect(isAborted(await rejection(reader.read({ signal: controller.signal })))).toBe(true);
    const rest = await readAll(reader);
    expect(same(Buffer.concat([head, rest]), blob.data)).toBe(true);
    expect(store.fetched).toEqual([]);
    expect(store.streams).toHaveLength(1);
  });
});
