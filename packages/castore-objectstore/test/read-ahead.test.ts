import { digestOf, putBlob } from "castore-core";
import { pseudoRandomBytes } from "castore-fixtures";
import { expect, it } from "vitest";
import { MemoryObjectStore } from "../src/memory-store.js";
import type { ObjectStore } from "../src/object-store.js";
import { ObjectStoreBlobService } from "../src/service.js";

/** A store whose chunk GETs wait until the test lets them finish, one at a time, in order. */
class GatedStore implements ObjectStore {
  readonly description = "gated memory";
  readonly inner = new MemoryObjectStore();
  /** Chunk keys asked for, in order. */
  readonly asked: string[] = [];
  inFlight = 0;
  mostInFlight = 0;
  gating = false;
  readonly #waiting: (() => void)[] = [];

  async get(key: string): Promise<Uint8Array | undefined> {
    if (!this.gating || !key.includes("/chunks/")) return this.inner.get(key);
    this.asked.push(key);
    this.mostInFlight = Math.max(this.mostInFlight, ++this.inFlight);
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.inFlight--;
    return this.inner.get(key);
  }

  /** Lets the oldest waiting GET finish (the test checks `pending()` first). */
  finishOne(): void {
    this.#waiting.shift()?.();
  }

  /** Lets every GET through from now on. */
  ungate(): void {
    this.gating = false;
    for (const finish of this.#waiting.splice(0)) finish();
  }

  /** How many GETs are waiting, after everything already queued has run. */
  async pending(): Promise<number> {
    await new Promise((resolve) => setImmediate(resolve));
    return this.#waiting.length;
  }

  head(key: string): Promise<boolean> {
    return this.inner.head(key);
  }

  putIfAbsent(key: string, bytes: Uint8Array): Promise<boolean> {
    return this.inner.putIfAbsent(key, bytes);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

it("a reader in order keeps download_concurrency GETs going and holds at most twice that many chunks ahead", async () => {
  const store = new GatedStore();
  const service = new ObjectStoreBlobService(store, { prefix: "p", avgChunkSize: 4096, downloadConcurrency: 2 });
  const data = pseudoRandomBytes(200 * 1024, 7);
  const digest = await putBlob(service, data);
  expect((await service.chunks(digest))?.length).toBeGreaterThan(10);

  store.gating = true;
  const reader = await service.openRead(digest);
  if (!reader) throw new Error("the blob was not found");
  const first = reader.read();
  // The consumer now stays on chunk 0 while fetches finish one at a time: each finished fetch starts
  // the next, up to chunk 4 (2 × 2 past the one being read), never more than 2 at once.
  for (let finished = 0; finished < 5; finished++) {
    expect(await store.pending(), `a GET for chunk ${finished}`).toBeGreaterThan(0);
    store.finishOne();
  }
  expect(await store.pending()).toBe(0);
  expect(store.asked).toHaveLength(5);
  expect(store.mostInFlight).toBe(2);
  expect((await first)?.length).toBeGreaterThan(0);

  // Ungated, the rest arrives, verified, in order.
  store.ungate();
  const pieces: Uint8Array[] = [(await first) ?? new Uint8Array()];
  for (let piece = await reader.read(); piece; piece = await reader.read()) pieces.push(piece);
  expect((await digestOf(Buffer.concat(pieces))).equals(digest)).toBe(true);
  await reader.close();
  await service.close();
});
