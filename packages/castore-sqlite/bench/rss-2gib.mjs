// A 2 GiB blob streamed into a fresh store and read back (verified), in a process of its own so
// that the peak RSS printed is what storing and reading it cost. Target: under 256 MiB.
//
// Usage: node bench/rss-2gib.mjs [normal|full]
import { randomFillSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBlake3Hasher } from "castore-core";
import { openSqliteBlobService } from "../dist/index.js";

const MiB = 1 << 20;
const PIECES = 2048;
const synchronous = process.argv[2] ?? "full";
const pool = randomFillSync(Buffer.allocUnsafe(16 * MiB));
const piece = (i) => {
  const p = pool.subarray((i % 16) * MiB, ((i % 16) + 1) * MiB);
  p.writeUInt32LE(i, 0);
  return p;
};
/**
 * Peak RSS of this process in MiB. Linux's VmHWM, not getrusage's maxRSS: the latter survives
 * exec, so a child spawned by a large parent would report the parent's size.
 */
function rssMiB() {
  try {
    const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    if (kib) return (Number(kib) / 1024).toFixed(0);
  } catch {}
  return (process.resourceUsage().maxRSS / 1024).toFixed(0);
}

const dir = mkdtempSync(join(tmpdir(), "castore-2gib-"));
try {
  const store = await openSqliteBlobService({ path: join(dir, "blobs.sqlite"), synchronous });
  // What the blob should hash to, computed apart from the store.
  const expected = await createBlake3Hasher();
  let start = performance.now();
  const writer = await store.openWrite();
  for (let i = 0; i < PIECES; i++) {
    const p = piece(i);
    expected.update(p);
    await writer.write(p);
  }
  const digest = await writer.close();
  const putSeconds = (performance.now() - start) / 1000;
  if (!digest.equals(expected.digest())) throw new Error("the store computed a different digest");
  const afterPut = rssMiB();

  start = performance.now();
  const reader = await store.openRead(digest);
  let total = 0;
  for await (const chunk of reader) total += chunk.length;
  await reader.close();
  const getSeconds = (performance.now() - start) / 1000;
  if (total !== PIECES * MiB) throw new Error(`read ${total} bytes, expected ${PIECES * MiB}`);
  await store.close();

  const gb = (PIECES * MiB) / 1e9;
  console.log(
    `2 GiB blob (synchronous=${synchronous}): put ${(gb / putSeconds).toFixed(2)} GB/s, verified get ${(gb / getSeconds).toFixed(2)} GB/s; ` +
      `peak RSS ${afterPut} MiB after put, ${rssMiB()} MiB after get (target < 256 MiB; includes the 16 MiB source pool)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
