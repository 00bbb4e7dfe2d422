// One put and one verified read of a blob streamed from a file, into a fresh store of the CLI
// daemon's default kind (castore-sqlite, synchronous=full), in a process of its own so that its
// peak RSS is what storing and reading the blob cost. After the verified read it reads the same chunks
// again straight from their packs, without hashing: the raw read rate, the limit of a verified read
// where that is lower than BLAKE3's (it runs last, so it gets whatever warm-up the read left behind).
// Prints one JSON line.
//
// Usage: node bench/local-child.mjs SOURCE BYTES DIR
import { closeSync, openSync, readSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import Database from "better-sqlite3";
import { primeMallocThresholds, readFilePieces } from "castore-core/node";
import { processPeakRss } from "../../../scripts/process-memory.mjs";
import { openSqliteBlobService } from "../dist/index.js";

// As the castore command does before any blob moves (see primeMallocThresholds).
primeMallocThresholds();

const [source, bytesArg, dir] = process.argv.slice(2);
const bytes = Number(bytesArg);

/** Peak RSS in MiB (VmHWM: getrusage's maxRSS survives exec, so a child would report its parent's). */
const peakRssMiB = () => processPeakRss() / (1 << 20);

function cpuSeconds(since) {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

const store = await openSqliteBlobService({ path: join(dir, "blobs.sqlite") });
let start = performance.now();
let cpu = process.cpuUsage();
const writer = await store.openWrite();
// Read as the castore command reads a file (see readFilePieces).
const input = await open(source, "r");
let left = bytes;
for await (const piece of readFilePieces(input)) {
  const wanted = piece.subarray(0, Math.min(piece.length, left));
  await writer.write(wanted);
  left -= wanted.length;
  if (left === 0) break;
}
await input.close();
const digest = await writer.close();
const putSeconds = (performance.now() - start) / 1000;
const putCpu = cpuSeconds(cpu);
const putRss = peakRssMiB();
await store.close();

// A fresh process state for the read: the store is opened again, as `castore cat` would.
const reading = await openSqliteBlobService({ path: join(dir, "blobs.sqlite"), readonly: true });
start = performance.now();
cpu = process.cpuUsage();
const reader = await reading.openRead(digest);
let total = 0;
// As `castore cat` reads: into buffers used again once the bytes are out (ReadOptions.into); two in
// turn, as cat holds each chunk back until the next read.
const buffers = [Buffer.allocUnsafeSlow(1 << 20), Buffer.allocUnsafeSlow(1 << 20)];
for (let turn = 0; ; turn ^= 1) {
  const piece = await reader.read({ into: buffers[turn] });
  if (!piece) break;
  total += piece.length;
}
await reader.close();
const catSeconds = (performance.now() - start) / 1000;
const catCpu = cpuSeconds(cpu);
await reading.close();
// castore's peak: the put's and the cat's. The raw read below is the baseline, not castore, and its
// row buffers would otherwise count against castore's bound.
const peakRss = peakRssMiB();
if (total !== bytes) throw new Error(`read ${total} bytes, expected ${bytes}`);

// The raw read: the blob's chunks in order, each looked up and its bytes read from its pack (into
// one reused buffer, the cheapest way to read them), as the store's reader finds and reads them.
const db = new Database(join(dir, "blobs.sqlite"), { readonly: true });
start = performance.now();
cpu = process.cpuUsage();
// A chunk under the store's pack threshold (a blob's last one, say) keeps its bytes in its row.
const chunkLocation = db
  .prepare("SELECT upload, pack, offset, size, CASE WHEN upload IS NULL THEN data END FROM chunks WHERE digest = ?")
  .raw();
const into = Buffer.allocUnsafe(16 << 20);
let rawTotal = 0;
const chunkList = db.prepare("SELECT chunk FROM blob_chunks WHERE blob = ? ORDER BY seq").pluck();
for (const chunk of chunkList.all(digest.unsafeBytes)) {
  const [file, pack, offset, size, data] = chunkLocation.get(chunk);
  if (file === null) {
    rawTotal += data.length;
    continue;
  }
  const fd = openSync(join(dir, "blobs.sqlite-chunks", "packs", `${file}.${pack}`), "r");
  for (let got = 0; got < size; ) {
    const n = readSync(fd, into, 0, size - got, offset + got);
    if (n === 0) break;
    got += n;
    rawTotal += n;
  }
  closeSync(fd);
}
const rawSeconds = (performance.now() - start) / 1000;
const rawCpu = cpuSeconds(cpu);
db.close();
if (rawTotal !== bytes) throw new Error(`raw read ${rawTotal} bytes, expected ${bytes}`);
console.log(
  JSON.stringify({
    putSeconds,
    putCpu,
    putRss,
    catSeconds,
    catCpu,
    rawSeconds,
    rawCpu,
    peakRss,
    rawPeakRss: peakRssMiB(),
  }),
);
