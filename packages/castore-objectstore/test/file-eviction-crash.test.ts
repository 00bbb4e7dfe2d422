// A process killed with SIGKILL while its bounded objectstore+file directory is evicting leaves
// no blob object whose chunks are gone (blob objects are deleted, durably, before their chunks),
// and every blob left reads back right; the next open deletes what the dead process left behind
// when it needs the room.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { B3Digest } from "castore-core";
import { pseudoRandomBytes, readBlob } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { blobDigests, bytesOnDisk, danglingBlobs, openBounded, tempRoot } from "./support/bounded.js";

const script = fileURLToPath(new URL("./children/file-evict-churn.mjs", import.meta.url));
const MAX_SIZE = 256 * 1024;
// Small chunks: an evicted blob's chunks are deleted one file at a time, over many steps.
const AVG_CHUNK_SIZE = 4096;

/** Runs the child until it has reported `count` blobs, then kills it with SIGKILL; returns what it reported. */
async function churnUntilKilled(root: string, seed: number, count: number): Promise<Map<string, number>> {
  const child = spawn(process.execPath, [script, root, String(seed), String(MAX_SIZE), String(AVG_CHUNK_SIZE)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const done = new Map<string, number>();
  let stderr = "";
  child.stderr.on("data", (data: Buffer) => {
    stderr += data.toString();
  });
  const closed = once(child, "close");
  await new Promise<void>((resolve, reject) => {
    let buffered = "";
    child.stdout.on("data", (data: Buffer) => {
      buffered += data.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        const [kind, index, hex] = line.split(" ");
        if (kind === "DONE") done.set(hex as string, Number(index));
      }
      if (done.size >= count) resolve();
    });
    void closed.then(() => reject(new Error(`child exited early: ${stderr}`)));
  });
  child.kill("SIGKILL");
  await closed.catch(() => {});
  return done;
}

describe("crash safety of objectstore+file eviction", () => {
  it("SIGKILL while evicting, again and again: no blob loses a chunk, every blob left verifies", async () => {
    const root = await tempRoot();
    const written = new Map<string, Uint8Array>();
    for (const seed of [1, 2, 3]) {
      const done = await churnUntilKilled(root, seed, 25 + 5 * seed);
      for (const [hex, i] of done)
        written.set(hex, pseudoRandomBytes(20 * 1024 + ((i * 7919) % (100 * 1024)), seed * 100_000 + i));
      // As the dead process left it: nothing dangles.
      expect(await danglingBlobs(root)).toEqual([]);
    }
    const left = await blobDigests(root);
    expect(left.length).toBeLessThan(written.size / 2);
    const { service, eviction } = await openBounded(root, MAX_SIZE, AVG_CHUNK_SIZE);
    for (const hex of left) {
      const bytes = await readBlob(service, B3Digest.from(hex));
      const expected = written.get(hex);
      if (expected) expect(Buffer.compare(Buffer.from(bytes), Buffer.from(expected)), hex).toBe(0);
    }
    // Opening evicts at once what exceeds the bound, starting with the chunks the dead processes left unlisted.
    await eviction.settle();
    expect(await bytesOnDisk(root)).toBeLessThanOrEqual(MAX_SIZE + 8 * 2 * AVG_CHUNK_SIZE + 4096);
    await service.close();
  });
});
