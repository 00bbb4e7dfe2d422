// What a served Read holds is reserved before its reader is read (see readBlob): a store, no network.
import { type B3Digest, type BlobReader, putBlob } from "castore-core";
import { ForwardingBlobReader } from "castore-core/backend";
import { pseudoRandomBytes } from "castore-fixtures";
import { MemoryBlobService } from "castore-memory";
import { describe, expect, it } from "vitest";
import { DEFAULT_MESSAGE_BYTES } from "../src/protocol.js";
import { heldWhileServing, type ReadReservation, readBlob } from "../src/server/blob-calls.js";
import { ObservedBlobService } from "./support/observed.js";

const never = new AbortController().signal;

/** A store whose readers say they hold `figures[0]`, then `figures[1]`, … bytes (the last one after that). */
class GrowingReaders extends MemoryBlobService {
  figures = [100, 300];
  #opened = 0;
  protected override async openReadImpl(digest: B3Digest) {
    const reader = await super.openReadImpl(digest);
    const figure = this.figures[Math.min(this.#opened++, this.figures.length - 1)];
    return (
      reader &&
      new (class extends ForwardingBlobReader {
        override get maxHeldBytes() {
          return figure;
        }
      })(reader)
    );
  }
}

/** Reads every piece, giving each buffer back, and joins them. */
async function drain(pieces: AsyncIterable<{ bytes: Uint8Array; sent: () => void }>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const { bytes, sent } of pieces) {
    parts.push(bytes.slice());
    sent();
  }
  return Buffer.concat(parts);
}

describe("readBlob", () => {
  it("reserves what serving the reader holds before it reads anything", async () => {
    const store = new ObservedBlobService();
    const blob = pseudoRandomBytes(3 << 20, 5);
    const digest = await putBlob(store, blob);
    const reserved: number[] = [];
    const reservation: ReadReservation = {
      tryReserve(bytes) {
        expect(store.readersRead).toBe(0);
        reserved.push(bytes);
        return true;
      },
      reserve: () => Promise.reject(new Error("not asked to wait")),
    };
    const pieces = await readBlob(store, digest.bytes, DEFAULT_MESSAGE_BYTES, never, reservation);
    expect((await drain(pieces)).equals(blob)).toBe(true);
    // The memory store's chunked reader: its read-ahead, and two 1 MiB pieces.
    const probe = await store.openRead(digest);
    expect(probe?.maxHeldBytes).toBeGreaterThan(0);
    expect(reserved).toEqual([(probe?.maxHeldBytes ?? 0) + 2 * DEFAULT_MESSAGE_BYTES]);
    await probe?.close();
    expect(store.readersOpened).toBe(2);
  });

  it("waits for room without a reader, then opens it again", async () => {
    const store = new ObservedBlobService();
    const blob = pseudoRandomBytes(3 << 20, 8);
    const digest = await putBlob(store, blob);
    const room = Promise.withResolvers<void>();
    const waiting = Promise.withResolvers<void>();
    const reservation: ReadReservation = {
      tryReserve: () => false,
      reserve: () => {
        waiting.resolve();
        return room.promise;
      },
    };
    const opening = readBlob(store, digest.bytes, DEFAULT_MESSAGE_BYTES, never, reservation);
    await waiting.promise;
    // While it waits, the reader it opened to learn what it holds is closed, and nothing was read.
    expect([store.readersOpened, store.readersClosed, store.readersRead]).toEqual([1, 1, 0]);
    room.resolve();
    expect((await drain(await opening)).equals(blob)).toBe(true);
    expect([store.readersOpened, store.readersClosed]).toEqual([2, 2]);
  });

  it("reads nothing and keeps no reader when the reservation fails", async () => {
    const store = new ObservedBlobService();
    const digest = await putBlob(store, pseudoRandomBytes(1000, 6));
    const busy = new Error("the server is busy");
    const reservation: ReadReservation = { tryReserve: () => false, reserve: () => Promise.reject(busy) };
    await expect(readBlob(store, digest.bytes, DEFAULT_MESSAGE_BYTES, never, reservation)).rejects.toBe(busy);
    expect([store.readersOpened, store.readersClosed, store.readersRead]).toEqual([1, 1, 0]);
  });

  it("reserves the difference when the reader opened again holds more than the first", async () => {
    const store = new GrowingReaders();
    const digest = await putBlob(store, pseudoRandomBytes(1000, 9));
    const asked: string[] = [];
    const reservation: ReadReservation = {
      tryReserve: (bytes) => {
        asked.push(`try ${bytes}`);
        return false;
      },
      reserve: async (bytes) => {
        asked.push(`wait ${bytes}`);
      },
    };
    await drain(await readBlob(store, digest.bytes, DEFAULT_MESSAGE_BYTES, never, reservation));
    // 2 × 1000 for the pieces, plus what each reader says it holds: 100, then 300.
    expect(asked).toEqual(["try 2100", "wait 2100", "try 200", "wait 200"]);
  });

  it("counts pieces no larger than the blob, and reads a small blob into buffers of its size", async () => {
    const store = new ObservedBlobService();
    const digest = await putBlob(store, pseudoRandomBytes(1000, 7));
    const reader = await store.openRead(digest);
    expect(reader?.maxHeldBytes).toBeUndefined();
    expect(heldWhileServing(reader as NonNullable<typeof reader>, DEFAULT_MESSAGE_BYTES)).toBe(2 * 1000);
    await reader?.close();
    for await (const { bytes, sent } of await readBlob(store, digest.bytes, DEFAULT_MESSAGE_BYTES, never)) {
      expect(bytes.buffer.byteLength).toBe(1000); // not a 1 MiB buffer for 1000 bytes
      sent();
    }
  });

  it("counts a reader's figure only if it is a count of bytes", async () => {
    const store = new GrowingReaders();
    const digest = await putBlob(store, pseudoRandomBytes(1000, 10));
    for (const figure of [Number.NaN, -5_000, Number.POSITIVE_INFINITY]) {
      store.figures = [figure];
      const reader = (await store.openRead(digest)) as BlobReader;
      expect(heldWhileServing(reader, DEFAULT_MESSAGE_BYTES)).toBe(2 * 1000);
      await reader.close();
    }
  });
});
