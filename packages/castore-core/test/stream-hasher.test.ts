import { execFile } from "node:child_process";
import { availableParallelism } from "node:os";
import { promisify } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { B3Digest } from "../src/digest.js";
import { createStreamHasher, type StreamHasher } from "../src/hashing/hash.js";
import { loadNativeBlake3, loadNodeWasmBlake3 } from "../src/hashing/hasher-node.js";
import { xorshiftBytes } from "./support/xorshift.js";

const MiB = 1 << 20;
const toHex = (digest: Uint8Array) => B3Digest.fromBytes(digest).toHex();

// The oracle is the WebAssembly implementation: independent of the native binding the thread uses.
const wasm = await loadNodeWasmBlake3();
const oracle = (bytes: Uint8Array) => {
  const hasher = wasm.createHasher();
  hasher.update(bytes);
  return toHex(hasher.digest());
};

/** Whether streams can go to a thread here: a core to spare and the native binding. */
const threadsHere = availableParallelism() > 1 && loadNativeBlake3() !== undefined;

/** Feeds `bytes` to `hasher` in pieces of `piece` bytes, waiting whenever it asks to. */
async function feed(hasher: StreamHasher, bytes: Uint8Array, piece: number): Promise<void> {
  for (let at = 0; at < bytes.length; at += piece) {
    const room = hasher.update(bytes.subarray(at, Math.min(bytes.length, at + piece)));
    if (room) await room;
  }
}

describe("createStreamHasher", () => {
  it.each([
    [0, 1000],
    [1, 1],
    [MiB - 1, 16_379],
    [MiB, MiB],
    [MiB + 1, 16_379],
    [7 * MiB + 12_345, 16_379],
    [7 * MiB + 12_345, 3 * MiB + 7],
  ])("hashes %i bytes fed in pieces of %i as BLAKE3 does", async (length, piece) => {
    const bytes = xorshiftBytes(length, length + piece);
    const hasher = await createStreamHasher();
    if (threadsHere) expect(hasher.where).toBe("thread");
    await feed(hasher, bytes, piece);
    expect(toHex(await hasher.digest())).toBe(oracle(bytes));
  });

  it("is done with a piece once update returns or its promise settles: the caller may reuse it", async () => {
    const pieces = Array.from({ length: 12 }, (_, i) => xorshiftBytes(MiB / 2 + 3, i + 1));
    const reused = new Uint8Array(MiB / 2 + 3);
    const hasher = await createStreamHasher();
    for (const piece of pieces) {
      reused.set(piece);
      const room = hasher.update(reused);
      if (room) await room;
      reused.fill(0xee); // were the hasher still reading `reused`, the digest would change
    }
    const all = new Uint8Array(Buffer.concat(pieces));
    expect(toHex(await hasher.digest())).toBe(oracle(all));
  });

  it.skipIf(!threadsHere)(
    "lends each thread to one stream at a time and takes it back at the digest or dispose",
    async () => {
      const bytes = xorshiftBytes(3 * MiB, 7);
      const first = await createStreamHasher();
      const others: StreamHasher[] = [];
      // Every thread lent (two at most), the next stream is hashed where it is fed.
      for (let i = 0; i < 2; i++) others.push(await createStreamHasher());
      expect(others.at(-1)?.where).toBe("here");
      await Promise.all([first, ...others].map((hasher) => feed(hasher, bytes, 100_000)));
      const digests = await Promise.all([first, ...others].map((hasher) => hasher.digest()));
      for (const digest of digests) expect(toHex(digest)).toBe(oracle(bytes));

      const disposed = await createStreamHasher();
      expect(disposed.where).toBe("thread");
      await feed(disposed, bytes, MiB);
      disposed.dispose();
      const next = await createStreamHasher();
      expect(next.where).toBe("thread");
      await feed(next, bytes.subarray(0, 2 * MiB + 5), 65_536);
      expect(toHex(await next.digest())).toBe(oracle(bytes.subarray(0, 2 * MiB + 5)));
    },
  );

  it("settles an update waiting for room when the hasher is disposed under it, and ignores later ones", async () => {
    // A reader closed while a read waits for room disposes its hasher: the read must not hang.
    const bytes = xorshiftBytes(8 * MiB, 5);
    // Disposed while it waits for the thread to be ready, then while it waits for a buffer.
    for (const before of [0, 2 * MiB]) {
      const hasher = await createStreamHasher();
      await feed(hasher, bytes.subarray(0, before), MiB);
      const room = hasher.update(bytes);
      hasher.dispose();
      await room;
      expect(hasher.update(new Uint8Array(1))).toBeUndefined();
    }
  });

  it.skipIf(!threadsHere)(
    "finishes a stream that waits for room while the garbage collector runs",
    async () => {
      setFlagsFromString("--expose-gc");
      const gc = runInNewContext("gc") as () => void;
      // Collections between the thread's replies: a waiting stream reachable from nothing but the
      // thread's reply would be collected, and the stream would never resume (the test times out).
      const collecting = setInterval(gc, 0);
      try {
        const bytes = xorshiftBytes(64 * MiB, 3);
        const digest = await (async () => {
          const hasher = await createStreamHasher();
          await feed(hasher, bytes, MiB);
          return hasher.digest();
        })();
        expect(toHex(digest)).toBe(oracle(bytes));
      } finally {
        clearInterval(collecting);
      }
    },
    60_000,
  );

  // The built module, in a process of its own: a thread that held the process would keep it running.
  const exits = async (script: string) => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
      cwd: new URL("..", import.meta.url),
      timeout: 30_000,
    });
    return stdout.trim().split(" ");
  };

  it("does not keep a process alive once its streams are finished, or left unfinished", async () => {
    const [digest, where] = await exits(`
      import { createStreamHasher } from "./dist/backend.js";
      const bytes = new Uint8Array(5 * 1024 * 1024).fill(7);
      const done = await createStreamHasher();
      for (let at = 0; at < bytes.length; at += 65536) await done.update(bytes.subarray(at, at + 65536));
      const digest = await done.digest();
      const left = await createStreamHasher();
      await left.update(bytes);
      console.log(Buffer.from(digest).toString("hex"), done.where, left.where);
    `);
    expect(digest).toBe(oracle(new Uint8Array(5 * MiB).fill(7)));
    if (threadsHere) expect(where).toBe("thread");
  }, 60_000);

  it("does not keep a process alive whose only stream never waited on its thread", async () => {
    // A short stream, hashed here: it borrows a thread but never starts it, nor waits on it.
    const [digest, where] = await exits(`
      import { createStreamHasher } from "./dist/backend.js";
      const short = await createStreamHasher();
      short.update(new Uint8Array(10).fill(7));
      console.log(Buffer.from(await short.digest()).toString("hex"), short.where);
    `);
    expect(digest).toBe(oracle(new Uint8Array(10).fill(7)));
    if (threadsHere) expect(where).toBe("thread");
  }, 60_000);
});
