import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ChunkBytes, ChunkedReader, type ChunkedReaderOptions } from "../src/backend.js";
import {
  type B3Digest,
  type ChunkMeta,
  digestOf,
  isAborted,
  isBackend,
  isIntegrity,
  isInvalidArgument,
  isInvalidDigest,
  readAll,
} from "../src/index.js";
import { DigestedBytes } from "../src/readers/digested-bytes.js";
import { type ChunkedBlob, chunkedBlob, readBytes, rejection, same } from "./support/chunked-blob.js";
import { thrownBy } from "./support/thrown.js";

type Blob = ChunkedBlob;

function open(blob: Blob, options: Partial<ChunkedReaderOptions> = {}, chunks = blob.chunks): ChunkedReader {
  return new ChunkedReader(blob.digest, blob.data.length, chunks, {
    openChunk: async (chunk) => blob.store.get(chunk.digest.toHex()),
    ...options,
  });
}

const sizeOf = (chunks: readonly ChunkMeta[]) => chunks.reduce((sum, chunk) => sum + chunk.size, 0);
const maxSize = (largest: number, chunk: ChunkMeta) => Math.max(largest, chunk.size);

/** Reads [offset, offset + length) through a fresh reader. */
async function readRange(reader: ChunkedReader, offset: number, length: number): Promise<Uint8Array> {
  await reader.seek(offset);
  return readBytes(reader, length);
}

/** Lets every pending promise callback run (they are microtasks: one macrotask turn drains them all). */
const settled = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A store whose fetches finish only when the test finishes them (or at once, once `flowing`), and
 * which records the chunks asked for and the most fetches it had outstanding at a time.
 */
function heldStore(blob: Blob) {
  const index = new Map(blob.chunks.map((c, i) => [c.digest.toHex(), i]));
  const started: number[] = [];
  const pending = new Map<number, () => void>();
  let outstanding = 0;
  const store = {
    started,
    maxOutstanding: 0,
    flowing: false,
    openChunk: (chunk: ChunkMeta): Promise<ChunkBytes | undefined> => {
      const i = index.get(chunk.digest.toHex()) as number;
      started.push(i);
      outstanding += 1;
      store.maxOutstanding = Math.max(store.maxOutstanding, outstanding);
      return new Promise((resolve) => {
        const finish = () => {
          pending.delete(i);
          outstanding -= 1;
          resolve(blob.store.get(chunk.digest.toHex()));
        };
        if (store.flowing) queueMicrotask(finish);
        else pending.set(i, finish);
      });
    },
    /** Finishes the fetch of chunk `i` and lets the reader react to it. */
    async finish(i: number) {
      const finish = pending.get(i);
      if (!finish) throw new Error(`chunk ${i} is not being fetched`);
      finish();
      await settled();
    },
  };
  return store;
}

describe("ChunkedReader", () => {
  it("reads the whole blob, verified, and exposes the validated list", async () => {
    const blob = await chunkedBlob(100_000);
    expect(blob.chunks.length).toBeGreaterThan(20);
    const reader = open(blob);
    expect(reader.size).toBe(100_000);
    expect(reader.seekable).toBe(true);
    expect(reader.chunks.map((c) => c.size)).toEqual(blob.chunks.map((c) => c.size));
    expect(same(await readAll(reader), blob.data)).toBe(true);
  });

  it("matches slicing under random seeks (start, current, end) and reads (property)", async () => {
    const blob = await chunkedBlob(30_000, 3);
    const size = blob.data.length;
    const step = fc.oneof(
      fc.record({ op: fc.constant("read" as const), max: fc.integer({ min: 1, max: 9000 }) }),
      fc.record({
        op: fc.constant("seek" as const),
        origin: fc.constantFrom("start" as const, "current" as const, "end" as const),
        offset: fc.integer({ min: -size - 5, max: size + 5 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 25 }), fc.integer({ min: 1, max: 6 }), async (steps, window) => {
        const reader = open(blob, { window });
        let position = 0;
        for (const s of steps) {
          if (s.op === "read") {
            const got = await reader.read({ maxBytes: s.max });
            const expected = blob.data.subarray(position, position + s.max);
            if (expected.length === 0) expect(got).toBeUndefined();
            else {
              expect(got && got.length > 0 && got.length <= s.max).toBe(true);
              expect(same(got as Uint8Array, blob.data.subarray(position, position + (got as Uint8Array).length))).toBe(
                true,
              );
              position += (got as Uint8Array).length;
            }
          } else {
            const base = s.origin === "start" ? 0 : s.origin === "current" ? position : size;
            const target = base + s.offset;
            if (target < 0) {
              expect(isInvalidArgument(await rejection(reader.seek(s.offset, s.origin)))).toBe(true);
            } else {
              expect(await reader.seek(s.offset, s.origin)).toBe(target);
              position = target;
            }
          }
        }
        expect(same(await readAll(reader), blob.data.subarray(position))).toBe(true);
        await reader.close();
      }),
      { numRuns: 60 },
    );
  });

  it("fails exactly the reads that touch a corrupted chunk, with Integrity", async () => {
    const blob = await chunkedBlob(60_000, 11);
    const bad = 5;
    const badStart = blob.chunks.slice(0, bad).reduce((sum, c) => sum + c.size, 0);
    const badEnd = badStart + (blob.chunks[bad] as ChunkMeta).size;
    const stored = blob.store.get((blob.chunks[bad] as ChunkMeta).digest.toHex()) as Uint8Array;
    stored[10] = (stored[10] as number) ^ 1;
    const ranges: [number, number][] = [
      [0, badStart], // everything before, up to the boundary
      [badEnd, 60_000 - badEnd], // everything after, from the boundary
      [badStart - 100, 101], // across the boundary into the bad chunk
      [badEnd - 1, 2], // across the boundary out of it
      [badStart + 20, 5], // inside it, away from the flipped byte
    ];
    for (const [offset, length] of ranges) {
      const touches = offset < badEnd && offset + length > badStart;
      const reader = open(blob);
      const result = await readRange(reader, offset, length).then(
        (bytes) => bytes,
        (error: unknown) => error,
      );
      if (touches) expect(isIntegrity(result), `range ${offset}+${length}`).toBe(true);
      else expect(same(result as Uint8Array, blob.data.subarray(offset, offset + length))).toBe(true);
      await reader.close();
    }
    // A sequential read with prefetch reaches the bad chunk only when it gets there.
    const reader = open(blob, { window: 8 });
    expect(same(await readRange(reader, 0, badStart), blob.data.subarray(0, badStart))).toBe(true);
    expect(isIntegrity(await rejection(reader.read()))).toBe(true);
  });

  it("reports a missing chunk as Integrity", async () => {
    const blob = await chunkedBlob(20_000);
    blob.store.delete((blob.chunks[2] as ChunkMeta).digest.toHex());
    const error = await rejection(readAll(open(blob)));
    expect(isIntegrity(error)).toBe(true);
    expect((error as Error).message).toMatch(/missing/);
  });

  it("proves the list only by a full read: intact chunks in the wrong list pass range reads, fail the full read", async () => {
    const blob = await chunkedBlob(20_000, 5);
    // Swap the first two chunks: every chunk is intact, the blob is not.
    const swapped = [...blob.chunks];
    [swapped[0], swapped[1]] = [swapped[1] as ChunkMeta, swapped[0] as ChunkMeta];
    const [original0, original1] = blob.chunks as [ChunkMeta, ChunkMeta];
    const ranged = open(blob, {}, swapped);
    const expected = blob.data.subarray(original0.size, original0.size + original1.size);
    expect(same(await readRange(ranged, 0, original1.size), expected)).toBe(true);
    const full = open(blob, {}, swapped);
    const error = await rejection(readAll(full));
    expect(isIntegrity(error)).toBe(true);
    expect((error as Error).message).toMatch(/wrong chunk list/);
    // A read that seeks back to 0 and reads through is a full read again.
    const again = open(blob, {}, swapped);
    await again.read({ maxBytes: 10 });
    await again.seek(0);
    expect(isIntegrity(await rejection(readAll(again)))).toBe(true);
  });

  it("proves the list of a blob of several MiB the same way (its hash on a thread where one is free)", async () => {
    const blob = await chunkedBlob(3 * (1 << 20) + 7, 11);
    expect(same(await readAll(open(blob, { window: 8 })), blob.data)).toBe(true);
    const swapped = [...blob.chunks];
    [swapped[0], swapped[1]] = [swapped[1] as ChunkMeta, swapped[0] as ChunkMeta];
    const error = await rejection(readAll(open(blob, { window: 8 }, swapped)));
    expect(isIntegrity(error)).toBe(true);
    expect((error as Error).message).toMatch(/wrong chunk list/);
  });

  it("with chunkListProven, trusts the list it was given: a full read checks each chunk, not the whole blob", async () => {
    const blob = await chunkedBlob(20_000, 5);
    // Intact chunks in the wrong order: only the whole-blob hash could tell, and it is skipped.
    const swapped = [...blob.chunks];
    [swapped[0], swapped[1]] = [swapped[1] as ChunkMeta, swapped[0] as ChunkMeta];
    const [first, second] = blob.chunks as [ChunkMeta, ChunkMeta];
    const read = await readAll(open(blob, { chunkListProven: true }, swapped));
    expect(read.length).toBe(blob.data.length);
    expect(same(read.subarray(0, second.size), blob.data.subarray(first.size, first.size + second.size))).toBe(true);
    // Each chunk is still checked: a chunk whose bytes changed fails as before.
    const damaged = new Uint8Array(blob.store.get(second.digest.toHex()) as Uint8Array);
    damaged[0] = (damaged[0] as number) ^ 1;
    blob.store.set(second.digest.toHex(), damaged);
    expect(isIntegrity(await rejection(readAll(open(blob, { chunkListProven: true }))))).toBe(true);
  });

  it("accepts chunks as segments or streams, and refuses a store that returns too many bytes", async () => {
    const blob = await chunkedBlob(20_000);
    const asSegments = open(blob, {
      openChunk: async (chunk) => {
        const bytes = blob.store.get(chunk.digest.toHex()) as Uint8Array;
        return [bytes.subarray(0, 3), bytes.subarray(3)];
      },
    });
    expect(same(await readAll(asSegments), blob.data)).toBe(true);
    const asStream = open(blob, {
      openChunk: async (chunk) => {
        const bytes = blob.store.get(chunk.digest.toHex()) as Uint8Array;
        return (async function* () {
          yield bytes.subarray(0, 1);
          yield bytes.subarray(1);
        })();
      },
    });
    expect(same(await readAll(asStream), blob.data)).toBe(true);
    const tooLong = open(blob, {
      openChunk: async (chunk): Promise<ChunkBytes> => {
        const bytes = blob.store.get(chunk.digest.toHex()) as Uint8Array;
        return [bytes, new Uint8Array(1)];
      },
    });
    expect(isIntegrity(await rejection(tooLong.read()))).toBe(true);
  });

  it("hands out copies unless told the chunks are its own", async () => {
    const blob = await chunkedBlob(5000);
    const reader = open(blob);
    const first = (await reader.read()) as Uint8Array;
    first.fill(0);
    expect(
      same(
        blob.store.get((blob.chunks[0] as ChunkMeta).digest.toHex()) as Uint8Array,
        blob.data.subarray(0, first.length),
      ),
    ).toBe(true);
  });

  it("hands out copies of chunks a store returns as Node Buffers (whose slice is a view)", async () => {
    const blob = await chunkedBlob(5000);
    const reader = open(blob, {
      openChunk: async (chunk) => Buffer.from(blob.store.get(chunk.digest.toHex()) as Uint8Array),
      window: 1,
    });
    const first = (await reader.read()) as Uint8Array;
    const length = first.length;
    first.fill(0);
    await reader.seek(0);
    expect(same((await reader.read()) as Uint8Array, blob.data.subarray(0, length))).toBe(true);
  });

  it("hands out an owned chunk's last piece as a view and fetches that chunk again when a read comes back", async () => {
    const blob = await chunkedBlob(5000);
    let fetches = 0;
    const reader = open(blob, {
      ownsChunks: true,
      window: 1,
      openChunk: async (chunk) => {
        fetches += 1;
        return (blob.store.get(chunk.digest.toHex()) as Uint8Array).slice();
      },
    });
    const head = (await reader.read({ maxBytes: 3 })) as Uint8Array;
    const rest = (await reader.read()) as Uint8Array;
    head.fill(0);
    rest.fill(0);
    await reader.seek(0);
    const first = blob.chunks[0]?.size as number;
    expect(same(await readRange(reader, 0, first), blob.data.subarray(0, first))).toBe(true);
    expect(fetches).toBe(2);
    await reader.seek(0);
    expect(same(await readAll(reader), blob.data)).toBe(true);
  });

  it("prefetches ahead while reading in order, within the window, and only what it touches after a seek", async () => {
    const blob = await chunkedBlob(80_000, 13);
    const opened: number[] = [];
    let live = 0;
    let maxLive = 0;
    const index = new Map(blob.chunks.map((c, i) => [c.digest.toHex(), i]));
    const counting = (window: number) =>
      open(blob, {
        window,
        openChunk: async (chunk) => {
          opened.push(index.get(chunk.digest.toHex()) as number);
          live += 1;
          maxLive = Math.max(maxLive, live);
          await Promise.resolve();
          live -= 1;
          return blob.store.get(chunk.digest.toHex());
        },
      });
    const sequential = counting(3);
    await sequential.read();
    // The first read fetched its chunk and the two after it.
    expect(opened).toEqual([0, 1, 2]);
    expect(same(await readAll(sequential), blob.data.subarray((blob.chunks[0] as ChunkMeta).size))).toBe(true);
    expect(maxLive).toBeLessThanOrEqual(3);
    // Each chunk fetched once.
    expect(opened.sort((a, b) => a - b)).toEqual(blob.chunks.map((_, i) => i));

    opened.length = 0;
    const random = counting(3);
    await random.seek(40_000);
    await random.read({ maxBytes: 1 });
    expect(opened).toHaveLength(1);

    // A short range across a boundary after a seek fetches the two chunks it touches, nothing ahead;
    // reading on through a whole chunk starts the read-ahead again.
    opened.length = 0;
    const straddling = counting(3);
    const second = blob.chunks[0]?.size as number;
    await straddling.seek(second - 2);
    expect((await straddling.read())?.length).toBe(2);
    await straddling.read({ maxBytes: 2 });
    expect(opened).toEqual([0, 1]);
    while (straddling.position < second + (blob.chunks[1]?.size as number)) await straddling.read();
    await straddling.read({ maxBytes: 1 });
    expect(opened).toEqual([0, 1, 2, 3, 4]);
  });

  it("keeps at most `window` fetches in flight, starting the next as one finishes, up to `readAhead` chunks ahead", async () => {
    const blob = await chunkedBlob(80_000, 13);
    const store = heldStore(blob);
    const reader = open(blob, { window: 2, readAhead: 4, openChunk: store.openChunk });
    const first = reader.read();
    await settled();
    // The chunk being read and one ahead: two fetches, the window.
    expect(store.started).toEqual([0, 1]);
    // Chunk 0 is slow; each chunk ahead that arrives makes room for the next, up to chunk 0 + 4.
    await store.finish(1);
    expect(store.started).toEqual([0, 1, 2]);
    await store.finish(2);
    await store.finish(3);
    expect(store.started).toEqual([0, 1, 2, 3, 4]);
    await store.finish(4);
    expect(store.started).toEqual([0, 1, 2, 3, 4]);
    await store.finish(0);
    const chunk0 = blob.chunks[0]?.size as number;
    expect(same((await first) as Uint8Array, blob.data.subarray(0, chunk0))).toBe(true);
    // Entering chunk 1 (already here) moves the read-ahead on by one chunk.
    const second = reader.read();
    await settled();
    expect(store.started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(
      same((await second) as Uint8Array, blob.data.subarray(chunk0, chunk0 + (blob.chunks[1]?.size as number))),
    ).toBe(true);
    store.flowing = true;
    await store.finish(5);
    const rest = await readAll(reader);
    expect(same(rest, blob.data.subarray(chunk0 + (blob.chunks[1]?.size as number)))).toBe(true);
    expect(store.maxOutstanding).toBe(2);
    // Each chunk fetched once, in order.
    expect(store.started).toEqual(blob.chunks.map((_, i) => i));
  });

  it("says what it holds while reading in order (maxHeldBytes), and holds no more than that", async () => {
    const blob = await chunkedBlob(80_000, 13);
    const largest = Math.max(...blob.chunks.map((chunk) => chunk.size));
    // The chunk being read and readAhead more, each at most the largest (lent buffers are that
    // size), and the list, whose share grows with its length.
    const list = open(blob, { readAhead: 0 }).maxHeldBytes - largest;
    expect(list).toBeGreaterThan(blob.chunks.length * 64);
    expect(open(blob).maxHeldBytes).toBe(4 * largest + list); // window 4, readAhead 3
    expect(open(blob, { window: 2, readAhead: 4 }).maxHeldBytes).toBe(5 * largest + list);
    expect(open(blob, { readAhead: 10_000 }).maxHeldBytes).toBe(blob.chunks.length * largest + list);
    const half = blob.chunks.slice(0, blob.chunks.length >> 1);
    const shorter = new ChunkedReader(blob.digest, sizeOf(half), half, { openChunk: async () => undefined });
    expect(shorter.maxHeldBytes - Math.min(4, half.length) * shorter.chunks.reduce(maxSize, 0)).toBeLessThan(list);
    // A full read in order through lent buffers never has more of them than that.
    let lent = 0;
    const reader = open(blob, {
      window: 3,
      readAhead: 5,
      chunkBuffers: (size) => {
        lent += size;
        return new Uint8Array(size);
      },
      openChunk: async (chunk, _signal, into) => {
        const bytes = blob.store.get(chunk.digest.toHex()) as Uint8Array;
        (into as Uint8Array).set(bytes);
        return (into as Uint8Array).subarray(0, bytes.length);
      },
    });
    expect(same(await readAll(reader), blob.data)).toBe(true);
    expect(lent).toBeGreaterThan(largest);
    expect(lent).toBeLessThanOrEqual(reader.maxHeldBytes);
  });

  it("takes back a lent buffer a store moved away and answered in, and drops one it did not answer in", async () => {
    const blob = await chunkedBlob(60_000, 13);
    /** The lent memory moved away and back, as a worker thread's round trip does (its new ArrayBuffer). */
    const moveAway = (into: Uint8Array) => new Uint8Array(structuredClone(into.buffer, { transfer: [into.buffer] }));
    const digestedInMoved = async (chunk: ChunkMeta, into: Uint8Array, at = 0) => {
      const bytes = blob.store.get(chunk.digest.toHex()) as Uint8Array;
      const back = moveAway(into);
      back.set(bytes, at);
      return new DigestedBytes(back.subarray(at, at + bytes.length), (await digestOf(bytes)).unsafeBytes);
    };
    let allocated = 0;
    const buffers = (size: number) => {
      allocated++;
      return new Uint8Array(size);
    };
    // Answered in the memory that came back: the whole blob through a handful of buffers.
    const moved = open(blob, {
      window: 3,
      chunkBuffers: buffers,
      openChunk: (chunk, _signal, into) => digestedInMoved(chunk, into as Uint8Array),
    });
    expect(same(await readAll(moved), blob.data)).toBe(true);
    expect(blob.chunks.length).toBeGreaterThan(20);
    expect(allocated).toBeLessThanOrEqual(4);
    // Answered elsewhere in that memory than where the lent buffer lay: not the lent buffer.
    const shifted = open(blob, {
      chunkBuffers: (size) => new Uint8Array(size + 1),
      openChunk: (chunk, _signal, into) => digestedInMoved(chunk, into as Uint8Array, 1),
    });
    expect(isBackend(await rejection(readAll(shifted)))).toBe(true);
    // Moved away and answered in fresh memory (as when a thread fails): read, and the gone buffer not lent again.
    allocated = 0;
    const lost = open(blob, {
      window: 3,
      chunkBuffers: buffers,
      openChunk: async (chunk, _signal, into) => {
        moveAway(into as Uint8Array);
        return (blob.store.get(chunk.digest.toHex()) as Uint8Array).slice();
      },
    });
    expect(same(await readAll(lost), blob.data)).toBe(true);
    expect(allocated).toBe(blob.chunks.length);
  });

  it("puts no listener on a read's signal when the chunk it reads is already here", async () => {
    const blob = await chunkedBlob(20_000);
    const reader = open(blob);
    const signal = new AbortController().signal;
    let listeners = 0;
    const add = signal.addEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      listeners += 1;
      add(...args);
    }) as typeof signal.addEventListener;
    const first = await reader.read({ signal, maxBytes: 1 }); // waits for the chunk: races the signal
    const raced = listeners;
    const second = await reader.read({ signal, maxBytes: 1 }); // the same chunk, here by now
    expect(listeners).toBe(raced);
    expect([...(first as Uint8Array), ...(second as Uint8Array)]).toEqual([...blob.data.subarray(0, 2)]);
  });

  it("with readAhead 0 fetches only the chunk being read, whatever the window", async () => {
    const blob = await chunkedBlob(20_000, 5);
    const store = heldStore(blob);
    const reader = open(blob, { window: 4, readAhead: 0, openChunk: store.openChunk });
    const first = reader.read();
    await settled();
    expect(store.started).toEqual([0]);
    await store.finish(0);
    await first;
    expect(store.started).toEqual([0]);
    const second = reader.read();
    await settled();
    expect(store.started).toEqual([0, 1]);
    store.flowing = true;
    await store.finish(1);
    await second;
    const chunk01 = (blob.chunks[0]?.size as number) + (blob.chunks[1]?.size as number);
    expect(same(await readAll(reader), blob.data.subarray(chunk01))).toBe(true);
    expect(store.maxOutstanding).toBe(1);
    expect(store.started).toEqual(blob.chunks.map((_, i) => i));
    expect(
      () =>
        new ChunkedReader(blob.digest, blob.data.length, blob.chunks, { openChunk: store.openChunk, readAhead: -1 }),
    ).toThrow(expect.objectContaining({ code: "InvalidArgument" }));
  });

  it("honours a read's signal without losing its place, and aborts fetches when closed", async () => {
    const blob = await chunkedBlob(20_000);
    let release: (() => void) | undefined;
    let fetchSignal: AbortSignal | undefined;
    const reader = open(blob, {
      window: 1,
      openChunk: async (chunk, signal) => {
        fetchSignal = signal;
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return blob.store.get(chunk.digest.toHex());
      },
    });
    const controller = new AbortController();
    const pending = reader.read({ signal: controller.signal });
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    expect(isAborted(await rejection(pending))).toBe(true);
    // The fetch carries on; the next read picks it up.
    const next = reader.read({ maxBytes: 4 });
    release?.();
    expect(same((await next) as Uint8Array, blob.data.subarray(0, 4))).toBe(true);

    const closing = open(blob, {
      openChunk: async (_chunk, signal) => {
        fetchSignal = signal;
        return new Promise<ChunkBytes>(() => {});
      },
    });
    const hanging = closing.read();
    await new Promise((resolve) => setImmediate(resolve));
    await closing.close();
    expect(fetchSignal?.aborted).toBe(true);
    hanging.catch(() => {});
  });

  it("reads an empty blob (no chunks) and checks it against the digest", async () => {
    const empty = await digestOf(new Uint8Array(0));
    const reader = new ChunkedReader(empty, 0, [], { openChunk: async () => undefined });
    expect(await reader.read()).toBeUndefined();
    const wrong = new ChunkedReader(await digestOf(new Uint8Array(1)), 0, [], { openChunk: async () => undefined });
    expect(isIntegrity(await rejection(wrong.read()))).toBe(true);
  });

  it("refuses a malformed chunk list with typed errors", async () => {
    const blob = await chunkedBlob(5000);
    const make =
      (chunks: unknown[], size = blob.data.length, digest: B3Digest = blob.digest) =>
      () =>
        new ChunkedReader(digest, size, chunks as ChunkMeta[], { openChunk: async () => undefined });
    const [a, b] = blob.chunks as [ChunkMeta, ChunkMeta];
    expect(() => make([{ digest: new Uint8Array(31), size: 1 }], 1)()).toThrow(
      expect.objectContaining({ code: "InvalidDigest" }),
    );
    const cases: unknown[][] = [
      [{ ...a, size: 0 }, b],
      [{ ...a, size: -1 }, b],
      [{ ...a, size: 1.5 }, b],
      [a, b], // does not add up to the blob size
      [],
    ];
    for (const chunks of cases) {
      expect(() => make(chunks)()).toThrow(expect.objectContaining({ code: "InvalidArgument" }));
    }
    expect(() => make(blob.chunks, -1)()).toThrow(expect.objectContaining({ code: "InvalidArgument" }));
    expect(
      () => new ChunkedReader(blob.digest, 5000, blob.chunks, { openChunk: async () => undefined, window: 0 }),
    ).toThrow(expect.objectContaining({ code: "InvalidArgument" }));
    expect(isInvalidDigest(thrownBy(make([{ digest: "nope", size: 5000 }])))).toBe(true);
  });
});
