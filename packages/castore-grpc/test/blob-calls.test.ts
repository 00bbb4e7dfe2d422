// What a served Read holds is reserved before its reader is read (see readBlob): a store, no network.
import { putBlob } from "castore-core";
import { pseudoRandomBytes } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { DEFAULT_MESSAGE_BYTES } from "../src/protocol.js";
import { heldWhileServing, type ReadReservation, readBlob } from "../src/server/blob-calls.js";
import { ObservedBlobService } from "./support/observed.js";

const never = new AbortController().signal;

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

  it("counts pieces no larger than the blob, and nothing for a reader that holds nothing of its own", async () => {
    const store = new ObservedBlobService();
    const digest = await putBlob(store, pseudoRandomBytes(1000, 7));
    const reader = await store.openRead(digest);
    expect(reader?.maxHeldBytes).toBeUndefined();
    expect(heldWhileServing(reader as NonNullable<typeof reader>, DEFAULT_MESSAGE_BYTES)).toBe(2 * 1000);
    await reader?.close();
  });
});
