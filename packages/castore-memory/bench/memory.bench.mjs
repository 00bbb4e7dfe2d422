// Throughput of the memory backend, as a ratio to raw BLAKE3 hashing of the same bytes in the same
// run (castore-core's native hasher): hashing is the ceiling for put, which must hash every byte,
// and get verifies the blob (one more hashing pass) before it hands out copies.
// Each round measures hash, put and get back to back and the best of each is kept, so load from
// other processes hits the reference and the backend alike.
// Run with `pnpm bench` at the root (or `pnpm --filter castore-memory bench` after a build).
import { blake3 } from "castore-core";
import { pseudoRandomBytes } from "castore-fixtures";
import { MemoryBlobService } from "../dist/index.js";

const MiB = 1024 * 1024;

const implementation = await blake3();
if (implementation.name !== "native") console.warn(`note: the reference hasher is ${implementation.name}, not native`);

/** Seconds taken by `fn`. */
async function time(fn) {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

async function drain(reader) {
  let total = 0;
  for (;;) {
    const chunk = await reader.read();
    if (chunk === undefined) break;
    total += chunk.length;
  }
  await reader.close();
  return total;
}

/**
 * Best-of-`rounds` seconds for hashing, putting and getting `blobs`, each blob given as a list of
 * pieces (written one write() per piece).
 */
async function measure(blobs, rounds) {
  const bytes = blobs.reduce((sum, pieces) => sum + pieces.reduce((s, p) => s + p.length, 0), 0);
  const best = { bytes, hash: Infinity, put: Infinity, get: Infinity };
  for (let round = 0; round < rounds; round++) {
    best.hash = Math.min(
      best.hash,
      await time(() => {
        for (const pieces of blobs) {
          const hasher = implementation.createHasher();
          for (const piece of pieces) hasher.update(piece);
          hasher.digest();
        }
      }),
    );
    const service = new MemoryBlobService();
    const digests = [];
    best.put = Math.min(
      best.put,
      await time(async () => {
        for (const pieces of blobs) {
          const writer = await service.openWrite();
          for (const piece of pieces) await writer.write(piece);
          digests.push(await writer.close());
        }
      }),
    );
    best.get = Math.min(
      best.get,
      await time(async () => {
        let read = 0;
        for (const digest of digests) read += await drain(await service.openRead(digest));
        if (read !== bytes) throw new Error(`read ${read} bytes, expected ${bytes}`);
      }),
    );
    await service.close();
  }
  return best;
}

const rows = [];
function report(label, { bytes, hash, put, get }) {
  const rate = (seconds) => (bytes / seconds / 1e9).toFixed(2);
  rows.push({ case: label, op: "BLAKE3 (reference)", "GB/s": rate(hash), "vs BLAKE3": "1.00" });
  rows.push({ case: label, op: "put", "GB/s": rate(put), "vs BLAKE3": (hash / put).toFixed(2) });
  rows.push({ case: label, op: "get", "GB/s": rate(get), "vs BLAKE3": (hash / get).toFixed(2) });
}

// 256 distinct blobs of 1 MiB of incompressible data, one write each.
const distinct = Array.from({ length: 256 }, (_, i) => pseudoRandomBytes(MiB, i + 1));
report(
  "1 MiB × 256",
  await measure(
    distinct.map((piece) => [piece]),
    5,
  ),
);
// One 1 GiB blob written in 1 MiB pieces (64 distinct ones, cycled), so the input is never held whole.
const gib = Array.from({ length: 1024 }, (_, i) => distinct[i % 64]);
report("1 GiB × 1", await measure([gib], 2));

console.log(
  `castore-memory, node ${process.version}, reference ${implementation.name} BLAKE3; best of 5 rounds (1 MiB × 256) and 2 rounds (1 GiB)`,
);
console.table(rows);
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
