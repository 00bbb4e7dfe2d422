// Throughput of the memory backend, as a ratio to raw BLAKE3 hashing of the same bytes in the same
// run (castore-core's native hasher): hashing is the ceiling for put, which must hash every byte,
// and get verifies the blob (one more hashing pass) before it hands out copies.
// Run with `pnpm bench` at the root (or `pnpm --filter castore-memory bench` after a build).
import { blake3 } from "castore-core";
import { pseudoRandomBytes } from "castore-fixtures";
import { MemoryBlobService } from "../dist/index.js";

const MiB = 1024 * 1024;
const ROUNDS = 3;

const implementation = await blake3();
if (implementation.name !== "native") console.warn(`note: the reference hasher is ${implementation.name}, not native`);

/** Seconds taken by `fn`. */
async function time(fn) {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

/** Best (lowest) time of `rounds` runs; `setup` runs untimed before each. */
async function best(rounds, setup, fn) {
  let seconds = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round++) {
    const state = await setup();
    seconds = Math.min(seconds, await time(() => fn(state)));
    await state?.close?.();
  }
  return seconds;
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

/** put and get of many separate blobs, one piece each. */
async function manyBlobs(pieces) {
  const bytes = pieces.length * pieces[0].length;
  const hash = await best(
    ROUNDS,
    () => undefined,
    () => {
      for (const piece of pieces) {
        const hasher = implementation.createHasher();
        hasher.update(piece);
        hasher.digest();
      }
    },
  );
  const put = await best(
    ROUNDS,
    () => new MemoryBlobService(),
    async (service) => {
      for (const piece of pieces) {
        const writer = await service.openWrite();
        await writer.write(piece);
        await writer.close();
      }
    },
  );
  const service = new MemoryBlobService();
  const digests = [];
  for (const piece of pieces) {
    const writer = await service.openWrite();
    await writer.write(piece);
    digests.push(await writer.close());
  }
  const get = await best(
    ROUNDS,
    () => undefined,
    async () => {
      for (const digest of digests) await drain(await service.openRead(digest));
    },
  );
  await service.close();
  return { bytes, hash, put, get };
}

/** put and get of one large blob written in `count` pieces cycled from `pieces`. */
async function oneBlob(pieces, count) {
  const bytes = count * pieces[0].length;
  const piece = (i) => pieces[i % pieces.length];
  const hash = await time(() => {
    const hasher = implementation.createHasher();
    for (let i = 0; i < count; i++) hasher.update(piece(i));
    hasher.digest();
  });
  const service = new MemoryBlobService();
  let digest;
  const put = await time(async () => {
    const writer = await service.openWrite();
    for (let i = 0; i < count; i++) await writer.write(piece(i));
    digest = await writer.close();
  });
  const get = await time(async () => {
    const read = await drain(await service.openRead(digest));
    if (read !== bytes) throw new Error(`read ${read} bytes, expected ${bytes}`);
  });
  await service.close();
  return { bytes, hash, put, get };
}

const rows = [];
function report(label, { bytes, hash, put, get }) {
  const rate = (seconds) => bytes / seconds / 1e9;
  rows.push({ case: label, op: "BLAKE3 (reference)", "GB/s": rate(hash).toFixed(2), "vs BLAKE3": "1.00" });
  rows.push({ case: label, op: "put", "GB/s": rate(put).toFixed(2), "vs BLAKE3": (hash / put).toFixed(2) });
  rows.push({ case: label, op: "get", "GB/s": rate(get).toFixed(2), "vs BLAKE3": (hash / get).toFixed(2) });
}

// 256 distinct 1 MiB blobs of incompressible data.
const distinct = Array.from({ length: 256 }, (_, i) => pseudoRandomBytes(MiB, i + 1));
report("1 MiB × 256", await manyBlobs(distinct));
// One 1 GiB blob, generated as 1 MiB pieces (64 distinct ones, cycled) so the input is never held whole.
report("1 GiB × 1", await oneBlob(distinct.slice(0, 64), 1024));

console.log(
  `castore-memory, node ${process.version}, reference ${implementation.name} BLAKE3; 1 MiB × 256: best of ${ROUNDS}; 1 GiB: one run`,
);
console.table(rows);
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
