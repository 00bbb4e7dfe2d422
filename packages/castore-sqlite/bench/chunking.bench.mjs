// Content-defined chunking in castore-sqlite (schema version 2), measured in one run:
// 1. put of 1 GiB of unrepeated random bytes with content-defined chunks (FastCDC 2020, 256 KiB
//    average) against the same store cutting fixed 1 MiB chunks (the cut of schema version 1; the
//    chunker then hashes nothing) and against raw better-sqlite3 inserting the same bytes as 1 MiB
//    rows in one transaction (the machine's limit). Goal: content-defined ≥ 80% of fixed.
//    The random bytes are made before each timed write, outside the timing.
// 2. dedup: ten versions of a 64 MiB random file, each made from the previous one by 3 insertions
//    and 3 deletions of up to 1 KiB at random places, stored one after another. Goal: the store
//    (bytes of data held, and the database with its chunk files) at most 1.5× one version.
// 3. random 4 KiB reads from the 1 GiB blob of (1): reads per second, and bytes hashed per byte
//    read (each read that lands in another chunk loads and verifies that whole chunk; computed from
//    the chunk list and the offsets read).
// 4. upgrade of a version-1 file (256 MiB in 1 MiB chunks) to version 2: seconds per GiB.
//
// Usage: node bench/chunking.bench.mjs [--quick]   (--quick: 256 MiB instead of 1 GiB in (1) and (3))
import { randomFillSync } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { openSqliteBlobService } from "../dist/index.js";
import { openWithHooks } from "../dist/testing.js";
import { writeV1Store } from "../test/support/v1-store.mjs";

const MiB = 1 << 20;
const quick = process.argv.includes("--quick");
const PUT_MIB = quick ? 256 : 1024;
const piece = Buffer.allocUnsafe(MiB);
const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;
const gbps = (bytes, s) => `${(bytes / s / 1e9).toFixed(2)} GB/s`;

const dir = mkdtempSync(join(tmpdir(), "castore-chunking-bench-"));
try {
  console.log("castore-sqlite chunking benchmark (machine shared with other work: figures are noisy)\n");

  // --- 1. put 1 GiB
  async function timedPut(service) {
    const writer = await service.openWrite();
    let busy = 0;
    for (let i = 0; i < PUT_MIB; i++) {
      randomFillSync(piece);
      const start = process.hrtime.bigint();
      await writer.write(piece);
      busy += seconds(start);
    }
    const start = process.hrtime.bigint();
    const digest = await writer.close();
    return { digest, s: busy + seconds(start) };
  }
  const rawPut = () => {
    const db = new Database(join(dir, "raw.sqlite"));
    db.pragma("page_size = 65536");
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.exec("CREATE TABLE large (id INTEGER PRIMARY KEY, data BLOB NOT NULL)");
    const insert = db.prepare("INSERT INTO large (id, data) VALUES (?, ?)");
    let busy = 0;
    db.exec("BEGIN");
    for (let i = 0; i < PUT_MIB; i++) {
      randomFillSync(piece);
      const start = process.hrtime.bigint();
      insert.run(i, piece);
      busy += seconds(start);
    }
    const start = process.hrtime.bigint();
    db.exec("COMMIT");
    busy += seconds(start);
    db.close();
    rmSync(join(dir, "raw.sqlite"), { force: true });
    return busy;
  };
  const fixedChunks = { minSize: MiB, avgSize: MiB, maxSize: MiB };
  const results = { cdc: [], fixed: [], raw: [] };
  let cdcStore;
  let cdcDigest;
  for (let round = 0; round < (quick ? 1 : 2); round++) {
    const fixed = await openWithHooks({ path: join(dir, `fixed-${round}.sqlite`) }, { chunking: fixedChunks });
    results.fixed.push((await timedPut(fixed)).s);
    await fixed.close();
    rmSync(join(dir, `fixed-${round}.sqlite`), { force: true });
    results.raw.push(rawPut());
    const cdc = await openSqliteBlobService(join(dir, `cdc-${round}.sqlite`));
    const put = await timedPut(cdc);
    results.cdc.push(put.s);
    if (cdcStore) {
      await cdcStore.close();
      rmSync(join(dir, `cdc-${round - 1}.sqlite`), { force: true });
    }
    cdcStore = cdc;
    cdcDigest = put.digest;
  }
  const best = (list) => Math.min(...list);
  const bytes = PUT_MIB * MiB;
  console.log(`1. put of ${PUT_MIB} MiB of random bytes (best of ${results.cdc.length}, synchronous=full):`);
  console.log(`   raw better-sqlite3, 1 MiB rows, one transaction   ${gbps(bytes, best(results.raw))}`);
  console.log(`   castore-sqlite, fixed 1 MiB chunks                ${gbps(bytes, best(results.fixed))}`);
  console.log(`   castore-sqlite, content-defined (256 KiB average) ${gbps(bytes, best(results.cdc))}`);
  console.log(
    `   content-defined / fixed: ${((best(results.fixed) / best(results.cdc)) * 100).toFixed(0)}% (goal ≥ 80%); ` +
      `/ raw: ${((best(results.raw) / best(results.cdc)) * 100).toFixed(0)}%\n`,
  );

  // --- 3. random 4 KiB reads (from the blob of 1, before the dedup store adds load)
  const chunks = await cdcStore.chunks(cdcDigest);
  const starts = [];
  let offset = 0;
  for (const chunk of chunks) {
    starts.push(offset);
    offset += chunk.size;
  }
  const chunkAt = (position) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid] <= position) low = mid;
      else high = mid - 1;
    }
    return low;
  };
  const READS = 2000;
  let state = 12345;
  const nextRandom = () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const reader = await cdcStore.openRead(cdcDigest);
  let hashed = 0;
  let read = 0;
  let lastChunk = -1;
  const readStart = process.hrtime.bigint();
  for (let i = 0; i < READS; i++) {
    const position = Math.floor(nextRandom() * (bytes - 4096));
    await reader.seek(position);
    // A read returns at most to the end of the chunk it starts in; the rest comes from the next.
    while (reader.position < position + 4096) {
      const index = chunkAt(reader.position);
      if (index !== lastChunk) hashed += chunks[index].size;
      lastChunk = index;
      const got = await reader.read({ maxBytes: position + 4096 - reader.position });
      read += got.length;
    }
  }
  const readSeconds = seconds(readStart);
  await reader.close();
  console.log(`3. random 4 KiB reads from the ${PUT_MIB} MiB blob (${chunks.length} chunks), one reader:`);
  console.log(
    `   ${(READS / readSeconds).toFixed(0)} reads/s; ${(hashed / read).toFixed(1)} bytes hashed per byte read ` +
      `(each read verifies the whole chunk it lands in)\n`,
  );
  await cdcStore.close();

  // --- 2. dedup
  const VERSION = 64 * MiB;
  let version = randomFillSync(Buffer.allocUnsafe(VERSION));
  const dedup = await openSqliteBlobService(join(dir, "dedup.sqlite"));
  const randomInt = (n) => Math.floor(nextRandom() * n);
  for (let v = 0; v < 10; v++) {
    if (v > 0) {
      for (let edit = 0; edit < 6; edit++) {
        const at = randomInt(version.length);
        const length = 1 + randomInt(1024);
        version =
          edit < 3
            ? Buffer.concat([version.subarray(0, at), randomFillSync(Buffer.allocUnsafe(length)), version.subarray(at)])
            : Buffer.concat([version.subarray(0, at), version.subarray(Math.min(version.length, at + length))]);
      }
    }
    const writer = await dedup.openWrite();
    for (let at = 0; at < version.length; at += MiB) await writer.write(version.subarray(at, at + MiB));
    await writer.close();
  }
  const stored = await dedup.storedBytes();
  await dedup.close();
  // On disk: the database and its chunk files (each file's bytes, not the blocks they round up to).
  const chunkDir = join(dir, "dedup.sqlite-chunks");
  const fileSize =
    statSync(join(dir, "dedup.sqlite")).size +
    readdirSync(chunkDir, { recursive: true })
      .map((name) => statSync(join(chunkDir, name)))
      .filter((info) => info.isFile())
      .reduce((sum, info) => sum + info.size, 0);
  console.log("2. dedup: ten versions of a 64 MiB random file, 3 insertions + 3 deletions of ≤ 1 KiB each:");
  console.log(
    `   data held ${(stored / MiB).toFixed(1)} MiB = ${(stored / VERSION).toFixed(3)}× one version; ` +
      `on disk (database and chunk files) ${(fileSize / MiB).toFixed(1)} MiB = ${(fileSize / VERSION).toFixed(3)}× (goal ≤ 1.5×)\n`,
  );

  // --- 4. upgrade
  const v1File = join(dir, "v1.sqlite");
  const V1_MIB = 256;
  await writeV1Store(v1File, {
    count: V1_MIB / 8,
    blobSize: 8 * MiB,
    chunkSize: MiB,
    bytesOf: (_, size) => randomFillSync(Buffer.allocUnsafe(size)),
  });
  const upgradeStart = process.hrtime.bigint();
  const upgraded = await openSqliteBlobService(v1File);
  const upgradeSeconds = seconds(upgradeStart);
  await upgraded.close();
  console.log(`4. upgrade of a version-1 file of ${V1_MIB} MiB (1 MiB chunks) to version 2:`);
  console.log(
    `   ${upgradeSeconds.toFixed(2)} s, ${((upgradeSeconds * 1024) / V1_MIB).toFixed(1)} s per GiB ` +
      "(chunk bytes are copied into the new table; digests are not recomputed)",
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
