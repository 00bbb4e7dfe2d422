// When a hashing thread starts, and what a stream gets when it stops: mid-stream (a crash, the thread out of memory),
// or before it was ready (no threads allowed, the binding not loading there). In a file of its own:
// a thread that never became ready makes every later stream of the process hash where it is.
import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { B3Digest } from "../src/digest.js";
import { BackendError } from "../src/errors.js";
import { createStreamHasher, type StreamHasher } from "../src/hashing/hash.js";
import { hashThreadsForTests } from "../src/hashing/hash-thread.js";
import { loadNativeBlake3, loadNodeWasmBlake3 } from "../src/hashing/hasher-node.js";
import { xorshiftBytes } from "./support/xorshift.js";

const MiB = 1 << 20;
const wasm = await loadNodeWasmBlake3();
const oracle = (bytes: Uint8Array) => {
  const hasher = wasm.createHasher();
  hasher.update(bytes);
  return B3Digest.fromBytes(hasher.digest()).toHex();
};
const threadsHere = availableParallelism() > 1 && loadNativeBlake3() !== undefined;

async function feed(hasher: StreamHasher, bytes: Uint8Array, piece: number): Promise<void> {
  for (let at = 0; at < bytes.length; at += piece) {
    const room = hasher.update(bytes.subarray(at, Math.min(bytes.length, at + piece)));
    if (room) await room;
  }
}

describe.skipIf(!threadsHere)("a hashing thread that stops", () => {
  it("is started only by a stream that fills a buffer: a short one starts none", async () => {
    const bytes = xorshiftBytes(3 * MiB, 10);
    expect(hashThreadsForTests.started()).toBe(0);
    const short = await createStreamHasher();
    expect(short.where).toBe("thread");
    await feed(short, bytes.subarray(0, MiB - 1), 64 * 1024);
    expect(B3Digest.fromBytes(await short.digest()).toHex()).toBe(oracle(bytes.subarray(0, MiB - 1)));
    expect(hashThreadsForTests.started()).toBe(0);
    const long = await createStreamHasher();
    await feed(long, bytes, 64 * 1024);
    expect(B3Digest.fromBytes(await long.digest()).toHex()).toBe(oracle(bytes));
    expect(hashThreadsForTests.started()).toBe(1);
  });

  it("fails its stream with Backend, never a wrong digest; the next stream gets a new thread", async () => {
    const bytes = xorshiftBytes(6 * MiB, 11);
    const hasher = await createStreamHasher();
    expect(hasher.where).toBe("thread");
    await feed(hasher, bytes.subarray(0, 3 * MiB), 64 * 1024); // two buffers on the thread
    await hashThreadsForTests.stop();
    // The rest waits for buffers the thread will never give back: the stream fails there or at its digest.
    const failure = await (async () => {
      await feed(hasher, bytes.subarray(3 * MiB), 64 * 1024);
      return hasher.digest();
    })().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(BackendError);
    expect((failure as Error).message).toMatch(/hashing thread stopped/);

    const next = await createStreamHasher();
    expect(next.where).toBe("thread");
    await feed(next, bytes, 64 * 1024);
    expect(B3Digest.fromBytes(await next.digest()).toHex()).toBe(oracle(bytes));
  });

  it("before its stream sent it anything: the stream goes on here with the right digest", async () => {
    const bytes = xorshiftBytes(4 * MiB + 3, 13);
    // A thread that is ready (the one the last stream finished with, or a new one).
    const warm = await createStreamHasher();
    await feed(warm, bytes, MiB);
    await warm.digest();
    const hasher = await createStreamHasher();
    expect(hasher.where).toBe("thread");
    hasher.update(bytes.subarray(0, 1000));
    await hashThreadsForTests.stop();
    await feed(hasher, bytes.subarray(1000), 100_000);
    expect(B3Digest.fromBytes(await hasher.digest()).toHex()).toBe(oracle(bytes));
  });

  it("that never became ready: its stream goes on here with the right digest, and so do later ones", async () => {
    const bytes = xorshiftBytes(5 * MiB + 7, 12);
    await hashThreadsForTests.stop(); // so that the stream gets a thread of its own, not yet started
    const hasher = await createStreamHasher();
    expect(hasher.where).toBe("thread");
    // The first full buffer starts the thread and waits for it; stopped before it could load anything,
    // it will never be ready.
    const first = hasher.update(bytes.subarray(0, MiB));
    await hashThreadsForTests.stop();
    await first;
    await feed(hasher, bytes.subarray(MiB), 100_000);
    expect(B3Digest.fromBytes(await hasher.digest()).toHex()).toBe(oracle(bytes));

    const later = await createStreamHasher();
    expect(later.where).toBe("here");
    await feed(later, bytes, MiB);
    expect(B3Digest.fromBytes(await later.digest()).toHex()).toBe(oracle(bytes));
  });
});
