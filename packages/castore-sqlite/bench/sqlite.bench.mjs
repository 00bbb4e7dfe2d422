// castore-sqlite throughput against two references, in one run (so the ratios compare like with like):
// - raw better-sqlite3: plain INSERT / SELECT of the same bytes into a (id, data) table, with the same
//   page size (64 KiB), journal mode (WAL) and synchronous mode; 1 MiB blobs one autocommit INSERT
//   each, the 1 GiB blob as 1 MiB rows in one transaction (its best case: one commit);
// - cacache (npm's content-addressable cache) as a peer store.
// Gets are verified reads for castore (and for cacache, which checks its sha512 integrity).
// Each figure is the median of ROUNDS runs, systems interleaved. The 2 GiB blob and peak RSS are
// measured by local-paths.bench.mjs.
//
// Usage: node bench/sqlite.bench.mjs [--quick] [--synchronous=normal|full]
import { randomFillSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import Database from "better-sqlite3";
import cacache from "cacache";
import { blake3, putBlob } from "castore-core";
import { openSqliteBlobService } from "../dist/index.js";

const MiB = 1 << 20;
const quick = process.argv.includes("--quick");
const synchronous = process.argv.find((a) => a.startsWith("--synchronous="))?.split("=")[1] ?? "full";
const ROUNDS = quick ? 1 : 3;
const SMALL_COUNT = 256;
const LARGE_CHUNKS = quick ? 256 : 1024; // 1 GiB (256 MiB with --quick)

// Distinct incompressible content: a random pool, with each 1 MiB piece stamped with its index.
const pool = randomFillSync(Buffer.allocUnsafe(64 * MiB));
function piece(i, salt) {
  const p = pool.subarray((i % 64) * MiB, ((i % 64) + 1) * MiB);
  p.writeUInt32LE(i, 0);
  p.writeUInt32LE(salt, 4);
  return p;
}
const smallBlobs = (salt) => Array.from({ length: SMALL_COUNT }, (_, i) => Buffer.from(piece(i, salt)));
function* largePieces(salt) {
  for (let i = 0; i < LARGE_CHUNKS; i++) yield piece(i, salt);
}

// --- the three systems, each: open(dir), putSmall(blobs), getSmall(), putLarge(salt), getLarge(), close()
function castoreSystem() {
  let store;
  let smallDigests;
  let largeDigest;
  return {
    name: "castore-sqlite",
    async open(dir) {
      store = await openSqliteBlobService({ path: join(dir, "blobs.sqlite"), synchronous });
    },
    async putSmall(blobs) {
      smallDigests = [];
      for (const blob of blobs) smallDigests.push(await putBlob(store, blob));
    },
    async getSmall() {
      let total = 0;
      for (const digest of smallDigests) total += await drain(await store.openRead(digest));
      return total;
    },
    async putLarge(salt) {
      const writer = await store.openWrite();
      for (const p of largePieces(salt)) await writer.write(p);
      largeDigest = await writer.close();
    },
    async getLarge() {
      return drain(await store.openRead(largeDigest));
    },
    checkpoint() {
      checkpoint(store.file);
    },
    async close() {
      await store.close();
    },
  };
}

/** Folds the write-ahead log into the file, so gets of every system read from the same state. */
function checkpoint(file) {
  const db = new Database(file);
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
}

async function drain(reader) {
  let total = 0;
  for await (const chunk of reader) total += chunk.length;
  await reader.close();
  return total;
}

function rawSystem() {
  let db;
  return {
    name: "raw better-sqlite3",
    async open(dir) {
      db = new Database(join(dir, "raw.sqlite"));
      db.pragma("page_size = 65536");
      db.pragma("journal_mode = WAL");
      db.pragma(`synchronous = ${synchronous}`);
      db.exec("CREATE TABLE small (id INTEGER PRIMARY KEY, data BLOB NOT NULL)");
      db.exec("CREATE TABLE large (id INTEGER PRIMARY KEY, data BLOB NOT NULL)");
    },
    async putSmall(blobs) {
      const insert = db.prepare("INSERT INTO small (id, data) VALUES (?, ?)");
      for (const [i, blob] of blobs.entries()) insert.run(i, blob);
    },
    async getSmall() {
      const select = db.prepare("SELECT data FROM small WHERE id = ?").pluck();
      let total = 0;
      for (let i = 0; i < SMALL_COUNT; i++) total += select.get(i).length;
      return total;
    },
    async putLarge(salt) {
      const insert = db.prepare("INSERT INTO large (id, data) VALUES (?, ?)");
      db.transaction(() => {
        let i = 0;
        for (const p of largePieces(salt)) insert.run(i++, p);
      })();
    },
    async getLarge() {
      const select = db.prepare("SELECT data FROM large WHERE id = ?").pluck();
      let total = 0;
      for (let i = 0; i < LARGE_CHUNKS; i++) total += select.get(i).length;
      return total;
    },
    checkpoint() {
      db.pragma("wal_checkpoint(TRUNCATE)");
    },
    async close() {
      db.close();
    },
  };
}

function cacacheSystem() {
  let cache;
  return {
    name: "cacache",
    async open(dir) {
      cache = join(dir, "cacache");
    },
    async putSmall(blobs) {
      for (let i = 0; i < blobs.length; i++) await cacache.put(cache, `small-${i}`, blobs[i]);
    },
    async getSmall() {
      let total = 0;
      for (let i = 0; i < SMALL_COUNT; i++) total += (await cacache.get(cache, `small-${i}`)).data.length;
      return total;
    },
    async putLarge(salt) {
      await pipeline(Readable.from(largePieces(salt)), cacache.put.stream(cache, "large"));
    },
    async getLarge() {
      let total = 0;
      for await (const chunk of cacache.get.stream(cache, "large")) total += chunk.length;
      return total;
    },
    checkpoint() {},
    async close() {},
  };
}

// --- measuring
const systems = [castoreSystem(), rawSystem(), cacacheSystem()];
const WORKLOADS = [
  { key: "putSmall", label: `put ${SMALL_COUNT} × 1 MiB`, bytes: SMALL_COUNT * MiB },
  { key: "getSmall", label: `get ${SMALL_COUNT} × 1 MiB`, bytes: SMALL_COUNT * MiB },
  { key: "putLarge", label: `put 1 × ${LARGE_CHUNKS} MiB`, bytes: LARGE_CHUNKS * MiB },
  { key: "getLarge", label: `get 1 × ${LARGE_CHUNKS} MiB`, bytes: LARGE_CHUNKS * MiB },
];
const seconds = new Map(); // `${system}/${workload}` → [s, …]

async function timed(key, fn) {
  const start = process.hrtime.bigint();
  const result = await fn();
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  seconds.set(key, [...(seconds.get(key) ?? []), s]);
  return result;
}

const implementation = await blake3();
console.log(
  `castore-sqlite bench — node ${process.version}, SQLite ${new Database(":memory:").prepare("select sqlite_version()").pluck().get()}, ` +
    `BLAKE3 ${implementation.name}, page_size 65536, WAL, synchronous=${synchronous}, ${ROUNDS} round(s), median shown`,
);
/** One round: every workload on a fresh store of each system; `record` false for the warm-up. */
async function round(index, record) {
  const order = index % 2 === 0 ? systems : [...systems].reverse();
  for (const system of order) {
    const dir = mkdtempSync(join(tmpdir(), "castore-bench-"));
    try {
      await system.open(dir);
      const inputs = { putSmall: smallBlobs(index), putLarge: index };
      for (const w of WORKLOADS) {
        if (w.key.startsWith("get")) system.checkpoint();
        const run = () => system[w.key](inputs[w.key]);
        const got = record ? await timed(`${system.name}/${w.key}`, run) : await run();
        if (w.key.startsWith("get") && got !== w.bytes) {
          throw new Error(`${system.name} ${w.label} read ${got} bytes, expected ${w.bytes}`);
        }
      }
      await system.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

// A warm-up round first (JIT, native modules, file system), not counted.
await round(0, false);
for (let index = 1; index <= ROUNDS; index++) await round(index, true);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const gbps = (system, w) => w.bytes / median(seconds.get(`${system}/${w.key}`)) / 1e9;
const rows = WORKLOADS.map((w) => {
  const ours = gbps("castore-sqlite", w);
  const raw = gbps("raw better-sqlite3", w);
  const peer = gbps("cacache", w);
  return {
    workload: w.label,
    "castore GB/s": ours.toFixed(2),
    "raw GB/s": raw.toFixed(2),
    "cacache GB/s": peer.toFixed(2),
    "vs raw": `${((ours / raw) * 100).toFixed(0)}%`,
    "vs cacache": `${(ours / peer).toFixed(1)}×`,
  };
});
console.table(rows);
