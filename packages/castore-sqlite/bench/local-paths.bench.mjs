// The local data paths of the daemon's default store (castore-sqlite), each against the machine's
// limit measured in the same run, recorded for `pnpm bench`'s summary:
// - durable put of 1 GiB of random bytes vs `dd bs=1M conv=fsync` of the same bytes to the same
//   file system;
// - the same put beside cacache (npm's content-addressable cache) as a peer;
// - a durable put of 2 GiB vs `dd conv=fsync` of 2 GiB: cost must grow no faster than size. The
//   disk's own rate is the limit at each size, because it is not one rate: past what the kernel and
//   the virtual disk absorb, writes go at the device's pace (measured here within minutes, dd wrote
//   1 GiB at 0.38–0.94 GB/s and 2 GiB at 0.47–0.54);
// - the same 2 GiB put per byte vs the 1 GiB put (cost must grow no faster than size), with dd's
//   own ratio of the two sizes beside it, to tell the disk's variance from castore's;
// - a verified read (openRead, read to the end: what `castore cat` does) vs the lower of native
//   BLAKE3 hashing the same bytes from memory and the raw read (the same chunks read from their
//   files without hashing);
// - peak RSS of a process that puts and reads back 2 GiB, vs a bound of 256 MiB.
// The source is a file of random bytes in /dev/shm (or the temporary directory where there is
// none), so reading it costs no disk time; stores go in the temporary directory.
//
// Usage: node bench/local-paths.bench.mjs   (CASTORE_BENCH_MIB=256 for a short run: sizes scale)
import { execFileSync, spawnSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { closeSync, createReadStream, existsSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import cacache from "cacache";
import { blake3 } from "castore-core";
import { recordResult } from "../../../scripts/bench-results.mjs";

const MiB = 1 << 20;
const mib = Number(process.env.CASTORE_BENCH_MIB ?? 1024);
const small = mib * MiB; // "1 GiB"
const large = 2 * small; // "2 GiB"
/** CPU seconds per GiB of `bytes`, as printed. */
const cpuPerGiB = (cpuSeconds, bytes) => (cpuSeconds / (bytes / 2 ** 30)).toFixed(2);
const sizeName = (bytes) => (bytes % 2 ** 30 === 0 ? `${bytes / 2 ** 30} GiB` : `${bytes / MiB} MiB`);

const sourceDir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "castore-bench-src-"));
const source = join(sourceDir, "random.bin");
const work = mkdtempSync(join(tmpdir(), "castore-bench-local-"));

function writeRandomFile(path, bytes) {
  const piece = Buffer.allocUnsafe(16 * MiB);
  const fd = openSync(path, "w");
  try {
    for (let written = 0; written < bytes; written += piece.length) {
      randomFillSync(piece);
      writeSync(fd, piece, 0, Math.min(piece.length, bytes - written));
    }
  } finally {
    closeSync(fd);
  }
}

function seconds(fn) {
  const start = performance.now();
  fn();
  return (performance.now() - start) / 1000;
}

/** A fresh directory in the work area, deleted after `fn`. */
async function inFreshDir(fn) {
  const dir = mkdtempSync(join(work, "run-"));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Put and read back `bytes` of the source in a child process; its figures (see local-child.mjs). */
function putAndCat(bytes) {
  return inFreshDir((dir) => {
    const child = spawnSync(
      process.execPath,
      [new URL("./local-child.mjs", import.meta.url).pathname, source, String(bytes), dir],
      { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
    );
    if (child.status !== 0) throw new Error(`local-child.mjs failed (status ${child.status})`);
    return JSON.parse(child.stdout.trim().split("\n").at(-1));
  });
}

function ddFsync(bytes) {
  return inFreshDir((dir) =>
    seconds(() =>
      execFileSync("dd", [`if=${source}`, `of=${join(dir, "out")}`, "bs=1M", `count=${bytes / MiB}`, "conv=fsync"], {
        stdio: "ignore",
      }),
    ),
  );
}

function cacachePut(bytes) {
  return inFreshDir(async (dir) => {
    const start = performance.now();
    await pipeline(createReadStream(source, { end: bytes - 1, highWaterMark: MiB }), cacache.put.stream(dir, "blob"));
    return (performance.now() - start) / 1000;
  });
}

/** Native BLAKE3 over `bytes` of the source, held in memory 64 MiB at a time (only hashing is timed). */
async function hashSeconds(bytes) {
  const implementation = await blake3();
  const buffer = Buffer.allocUnsafe(64 * MiB);
  const fd = openSync(source, "r");
  let elapsed = 0;
  try {
    const hasher = implementation.createHasher();
    for (let done = 0; done < bytes; ) {
      const got = readSync(fd, buffer, 0, Math.min(buffer.length, bytes - done), done);
      const start = performance.now();
      for (let at = 0; at < got; at += MiB) hasher.update(buffer.subarray(at, Math.min(got, at + MiB)));
      elapsed += (performance.now() - start) / 1000;
      done += got;
    }
    hasher.digest();
  } finally {
    closeSync(fd);
  }
  return { elapsed, name: implementation.name };
}

const gbps = (bytes, s) => bytes / s / 1e9;
try {
  writeRandomFile(source, large);
  // Warm-up: the native modules, and the page cache for the source.
  await hashSeconds(small);

  // Each dd runs just before the put of its size, so both meet the disk in the same state.
  const dd = gbps(small, await ddFsync(small));
  const one = await putAndCat(small);
  const peer = gbps(small, await cacachePut(small));
  const dd2 = gbps(large, await ddFsync(large));
  const two = await putAndCat(large);
  const hash = await hashSeconds(small);
  const hashRate = gbps(small, hash.elapsed);
  const put1 = gbps(small, one.putSeconds);
  const put2 = gbps(large, two.putSeconds);
  const cat1 = gbps(small, one.catSeconds);
  const raw1 = gbps(small, one.rawSeconds);
  const readLimit =
    raw1 < hashRate ? { rate: raw1, name: "raw chunk-file read" } : { rate: hashRate, name: `${hash.name} BLAKE3` };

  console.log(
    `castore-sqlite local paths — ${sizeName(small)} random bytes from ${sourceDir}, stores in ${work}\n` +
      `  dd conv=fsync ${dd.toFixed(2)} GB/s; put ${put1.toFixed(2)} GB/s (${cpuPerGiB(one.putCpu, small)} s CPU/GiB); ` +
      `cacache put ${peer.toFixed(2)} GB/s\n` +
      `  dd conv=fsync ${sizeName(large)} ${dd2.toFixed(2)} GB/s; ` +
      `put ${sizeName(large)} ${put2.toFixed(2)} GB/s (${cpuPerGiB(two.putCpu, large)} s CPU/GiB)\n` +
      `  verified read ${cat1.toFixed(2)} GB/s (${cpuPerGiB(one.catCpu, small)} s CPU/GiB); ` +
      `BLAKE3 (${hash.name}) ${hashRate.toFixed(2)} GB/s; ` +
      `raw read ${raw1.toFixed(2)} GB/s (${cpuPerGiB(one.rawCpu, small)} s CPU/GiB)\n` +
      `  peak RSS: ${sizeName(small)} ${one.peakRss.toFixed(0)} MiB, ${sizeName(large)} ${two.peakRss.toFixed(0)} MiB`,
  );
  const note = `${sizeName(small)} random bytes`;
  recordResult({
    path: `durable put, default store, ${sizeName(small)}`,
    value: put1,
    limit: dd,
    limitName: "dd conv=fsync",
    unit: "GB/s",
    goal: 0.8,
    note: "castore-sqlite, synchronous=full",
  });
  recordResult({
    path: `durable put, default store, ${sizeName(large)}`,
    value: put2,
    limit: dd2,
    limitName: `dd conv=fsync, ${sizeName(large)}`,
    unit: "GB/s",
    goal: 0.8,
    note: "castore-sqlite, synchronous=full",
  });
  recordResult({
    path: `SQLite store put ${sizeName(large)} vs ${sizeName(small)} (per-byte rate)`,
    value: put2,
    limit: put1,
    limitName: `same store, ${sizeName(small)}`,
    unit: "GB/s",
    goal: 0.8,
    note: `dd conv=fsync: ${sizeName(large)} at ${(dd2 / dd).toFixed(2)} of its ${sizeName(small)} rate`,
  });
  recordResult({
    path: "SQLite store put vs cacache",
    value: put1,
    limit: peer,
    limitName: "cacache put",
    unit: "GB/s",
    note,
  });
  recordResult({
    path: `verified read (castore cat), ${sizeName(small)}`,
    value: cat1,
    limit: readLimit.rate,
    limitName: readLimit.name,
    unit: "GB/s",
    goal: 0.8,
    note: `${cpuPerGiB(one.catCpu, small)} s CPU/GiB; ${hash.name} BLAKE3 ${hashRate.toFixed(2)} GB/s, raw read ${raw1.toFixed(2)} GB/s`,
  });
  recordResult({
    path: `peak RSS put/cat ${sizeName(large)}`,
    value: Math.max(one.peakRss, two.peakRss),
    limit: 256,
    limitName: "bound",
    unit: "MiB",
    better: "lower",
    goal: 1,
  });
} finally {
  rmSync(sourceDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
}
