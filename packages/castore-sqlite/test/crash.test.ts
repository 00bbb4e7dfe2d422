// A writer process killed with SIGKILL at any moment leaves every blob whose close had returned,
// each verifying, and never a partial one; the next open reclaims what the dead writer left.
import { setTimeout as sleep } from "node:timers/promises";
import { B3Digest, digestOf } from "castore-core";
import { describe, expect, it } from "vitest";
import { openSqliteBlobService } from "../src/index.js";
import { blobData, CHUNK_SIZE } from "./children/blob-plan.mjs";
import { expectBytes } from "./support/bytes.js";
import { startStreamingChild } from "./support/child.js";
import { countRows, storedDigests } from "./support/inspect.js";
import { tempFile } from "./support/temp.js";

interface Run {
  seed: number;
  done: Map<number, string>;
}

describe("crash safety", () => {
  it("SIGKILL mid-write, again and again: every closed blob survives and verifies, nothing partial", async () => {
    const file = tempFile();
    const runs: Run[] = [];

    // Killed at moments chosen by the clock: mostly inside a write, sometimes inside a commit.
    for (const [seed, delay] of [
      [1, 0],
      [2, 7],
      [3, 23],
    ] as const) {
      const child = startStreamingChild(file, seed, "inf");
      await child.waitForDone(12 + seed * 3);
      await sleep(delay);
      await child.kill();
      runs.push({ seed, done: new Map(child.done) });
    }

    // Killed at a known moment: half-way through a multi-chunk blob, so chunk rows are on disk.
    const paused = startStreamingChild(file, 4, 10, 5);
    await paused.waitFor("MID 5");
    await paused.kill();
    runs.push({ seed: 4, done: new Map(paused.done) });
    const beforeReopen = countRows(file);
    expect(beforeReopen.uploads).toBeGreaterThanOrEqual(1);
    // As the killed processes left it: no row names a file that is not there.
    expect(beforeReopen.missingFiles).toBe(0);
    expect(beforeReopen.chunks).toBeGreaterThan(0);

    const service = await openSqliteBlobService({ path: file, avgChunkSize: CHUNK_SIZE });
    // The dead writers' uploads are gone, and with them every chunk no blob owns and its file.
    expect(countRows(file)).toMatchObject({ uploads: 0, orphanChunks: 0, strayFiles: 0, missingFiles: 0 });

    // Every blob whose close returned is there and reads back whole and right.
    const possible = new Map<string, Uint8Array>();
    let reported = 0;
    for (const { seed, done } of runs) {
      for (const [i, hex] of done) {
        const data = blobData(seed, i);
        expect((await digestOf(data)).toHex(), `run ${seed} blob ${i}`).toBe(hex);
        const reader = await service.openRead(B3Digest.parse(hex));
        expect(reader, `run ${seed} blob ${i} is missing`).toBeDefined();
        await reader?.close();
        possible.set(hex, data);
        reported++;
      }
      // The blob being written when the child died may or may not have committed.
      const next = blobData(seed, Math.max(-1, ...done.keys()) + 1);
      possible.set((await digestOf(next)).toHex(), next);
    }
    expect(reported).toBeGreaterThan(40);

    // And nothing else is: every stored blob is one that was closed (or closing), complete.
    const stored = storedDigests(file);
    expect(stored.length).toBeGreaterThanOrEqual(reported);
    for (const hex of stored) {
      const data = possible.get(hex);
      expect(data, `stored blob ${hex} was never written`).toBeDefined();
      const reader = await service.openRead(B3Digest.parse(hex));
      const chunks: Uint8Array[] = [];
      for await (const chunk of reader ?? []) chunks.push(chunk);
      expectBytes(Buffer.concat(chunks), data as Uint8Array, `blob ${hex}`);
    }
    await service.close();
  });

  it("an open does not reclaim the upload of a writer that is alive in another process", async () => {
    const file = tempFile();
    const child = startStreamingChild(file, 5, 3, 1);
    await child.waitFor("MID 1");
    const before = countRows(file);
    expect(before.uploads).toBe(1);

    const service = await openSqliteBlobService({ path: file, avgChunkSize: CHUNK_SIZE });
    // The upload is still there with every chunk it had. The child may add rows meanwhile: its
    // last batch is stored in the background (its pack write runs in the thread pool).
    const after = countRows(file);
    expect(after.uploads).toBe(1);
    expect(after.chunks).toBeGreaterThanOrEqual(before.chunks);

    child.process.stdin.write("go on\n");
    await child.waitFor("END");
    expect(await child.exited()).toBe(0);
    for (const [i, hex] of child.done) {
      const reader = await service.openRead(B3Digest.parse(hex));
      const chunks: Uint8Array[] = [];
      for await (const chunk of reader ?? []) chunks.push(chunk);
      expectBytes(Buffer.concat(chunks), blobData(5, i), `blob ${i}`);
    }
    expect(child.done.size).toBe(3);
    expect(countRows(file)).toMatchObject({ uploads: 0, orphanChunks: 0 });
    await service.close();
  });
});
