// A warm read of a blob through the cache against a direct read of near, as a ratio measured in
// the same run (the limit here is near itself: the cache cannot read faster than the store it
// reads). Near and far are SQLite files. Warm cases:
// - "written through the cache": near has the blob (write = near); the cache hands out near's reader.
// - "after a complete read-through": only far had it; one full read through the cache filled near
//   chunk by chunk and then stored the whole blob near (in the background; the bench waits for it).
// - "assembled from near's chunks": a read that seeked filled near with every chunk but not the
//   whole blob; the next read assembles the chunks from near (each verified) without asking far.
//   One sample (that read completes the blob, which is then stored whole).
// The cold read-through (far to near) is shown for scale. Rounds interleave the direct and cached
// reads and keep the best of each, so load from other processes hits both alike; on a shared
// machine the absolute numbers move, the ratios much less. The warm reads are recorded for the
// `pnpm bench` summary against the direct read (goal: ≥ 90% of it).
// Size: CASTORE_BENCH_MIB (default 1024, i.e. 1 GiB; a smaller size runs faster on a busy machine).
// Run with `pnpm bench` at the root (or `pnpm --filter castore-cache bench` after a build).
import { randomFillSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteBlobService } from "castore-sqlite";
import { recordResult } from "../../../scripts/bench-results.mjs";
import { CacheBlobService } from "../dist/index.js";

const MiB = 1024 * 1024;
const size = Number(process.env.CASTORE_BENCH_MIB ?? 1024) * MiB;
const ROUNDS = 4;

async function put(store, bytes) {
  const writer = await store.openWrite();
  const piece = new Uint8Array(MiB);
  for (let written = 0; written < bytes; written += MiB) {
    randomFillSync(piece);
    await writer.write(piece.subarray(0, Math.min(MiB, bytes - written)));
  }
  return writer.close();
}

/** Seconds to read the whole blob (verified: readers check the digest at the end). */
async function readSeconds(store, digest) {
  const start = performance.now();
  const reader = await store.openRead(digest);
  let total = 0;
  for (let chunk = await reader.read(); chunk !== undefined; chunk = await reader.read()) total += chunk.length;
  await reader.close();
  if (total !== size) throw new Error(`read ${total} bytes, expected ${size}`);
  return (performance.now() - start) / 1000;
}

const dir = mkdtempSync(join(tmpdir(), "castore-cache-bench-"));
try {
  const near = await SqliteBlobService.open({ path: join(dir, "near.sqlite") });
  const far = await SqliteBlobService.open({ path: join(dir, "far.sqlite") });
  const cache = new CacheBlobService({ near, far });
  const written = await put(cache, size);
  const readThrough = await put(far, size);
  const cold = await readSeconds(cache, readThrough);
  await cache.settled();
  if (!(await near.has(readThrough))) throw new Error("the complete read did not store the blob near");

  const assembled = await put(far, size);
  const filler = await cache.openRead(assembled);
  await filler.read();
  await filler.seek(1);
  while ((await filler.read()) !== undefined);
  await filler.close();
  const assembledSeconds = await readSeconds(cache, assembled);

  const best = { direct: Infinity, written: Infinity, readThrough: Infinity };
  for (let round = 0; round < ROUNDS; round++) {
    best.direct = Math.min(best.direct, await readSeconds(near, written));
    best.written = Math.min(best.written, await readSeconds(cache, written));
    best.direct = Math.min(best.direct, await readSeconds(near, readThrough));
    best.readThrough = Math.min(best.readThrough, await readSeconds(cache, readThrough));
  }
  await cache.close();

  const rate = (seconds) => (size / seconds / 1e9).toFixed(2);
  const ratio = (seconds) => (best.direct / seconds).toFixed(2);
  console.log(`castore-cache, ${size / MiB} MiB blob, SQLite near and far, best of ${ROUNDS} (shared machine: noisy)`);
  console.table([
    { read: "direct read of near (reference)", "GB/s": rate(best.direct), "vs direct": "1.00" },
    { read: "warm, written through the cache", "GB/s": rate(best.written), "vs direct": ratio(best.written) },
    {
      read: "warm, after a complete read-through",
      "GB/s": rate(best.readThrough),
      "vs direct": ratio(best.readThrough),
    },
    {
      read: "warm, assembled from near's chunks (1 sample)",
      "GB/s": rate(assembledSeconds),
      "vs direct": ratio(assembledSeconds),
    },
    { read: "cold read-through from far", "GB/s": rate(cold), "vs direct": ratio(cold) },
  ]);
  const gb = (seconds) => size / seconds / 1e9;
  for (const [how, seconds] of [
    ["written through the cache", best.written],
    ["after a complete read-through", best.readThrough],
  ]) {
    recordResult({
      path: `cache warm read (${how}), ${size / MiB} MiB`,
      value: gb(seconds),
      limit: gb(best.direct),
      limitName: "direct read of near (SQLite)",
      unit: "GB/s",
      goal: 0.9,
      note: `best of ${ROUNDS}`,
    });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
