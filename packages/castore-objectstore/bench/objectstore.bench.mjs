// castore-objectstore against a real S3 server (Ceph RGW on loopback, started by scripts/ceph-rgw.sh),
// beside the raw SDK in the same run, so the ratio compares like with like:
// - put: castore's writer (FastCDC, BLAKE3 per chunk and for the blob, zstd, HEAD + conditional PUT
//   per chunk, the blob object last) vs raw PutObject of the same bytes cut at the same offsets, in
//   objects of the same sizes, with the same number of requests in flight;
// - get: castore's verified read (ChunkedReader: GET, zstd decompress, BLAKE3 per chunk and for the
//   blob) vs raw GetObject of those objects with the same concurrency;
// - dedup: a second put of the same bytes must send no chunk data (the service's transfer counters).
// How the comparison is kept fair on a busy 2-core machine whose gateway shares the cores:
// - a warm-up round first, not counted: a fresh gateway spent 25-30 CPU-s per GiB put in its first
//   round and 15-19 in later ones, for castore and the raw SDK alike;
// - each round puts, reads and deletes one system's objects before the other's, so each put meets
//   the same bucket (the second of two puts into a bucket already holding the first's GiB cost the
//   gateway more, whoever came second), and the order alternates from round to round;
// - the ratio is paired: castore's throughput over the raw SDK's in the same round, minutes apart.
//   The row reports the round with the lower median ratio (with 4 rounds the second-worst), so load
//   that drifts between rounds does not mix one round's castore with another's raw.
// Beside each throughput: CPU seconds per GiB of this process (process.cpuUsage) and of the gateway
// (its radosgw, OSD and monitor, from /proc), and how busy the whole machine was, so a ratio can be
// told apart from a gateway or a machine that was the limit for both.
//
// Usage: node bench/objectstore.bench.mjs [--size-mib=N] [--rounds=N] [--concurrency=N] [--round-limit-s=N]
// (default 1 GiB and 4 rounds, a few minutes; the gateway keeps objects in RAM, one system's GiB at a time)
import { randomFillSync } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { putBlob } from "castore-core";
import { chunkSizesFor, FastCdcChunker, raceAbort } from "castore-core/backend";
import { recordResult } from "../../../scripts/bench-results.mjs";
import { processCpuSeconds } from "../../../scripts/process-cpu.mjs";
import { ObjectStoreBlobService, S3ObjectStore } from "../dist/index.js";
import { startGateway, stopGateway } from "../scripts/gateway.mjs";

const MiB = 1 << 20;
const arg = (name, fallback) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const SIZE = arg("size-mib", 1024) * MiB;
const ROUNDS = arg("rounds", 4);
const CONCURRENCY = arg("concurrency", 8);

const target = await startGateway("castore-bench");
if (!target.available) {
  console.log(`castore-objectstore bench SKIPPED: ${target.reason}`);
  process.exit(0);
}

/** CPU seconds used so far by the gateway's processes (Linux /proc; 0 where it cannot be read). */
function gatewayCpuSeconds() {
  let seconds = 0;
  try {
    const run = join(target.dir, "run");
    for (const file of readdirSync(run).filter((name) => name.endsWith(".pid"))) {
      const used = processCpuSeconds(readFileSync(join(run, file), "utf8").trim());
      if (used === undefined) return 0;
      seconds += used;
    }
  } catch {
    return 0;
  }
  return seconds;
}

// No S3 call has a timeout of its own, so a gateway that stops answering would hang the bench (it
// did, twice, before ceph-rgw.sh turned off the OSD's full checks: a memstore OSD that believed
// itself full blocked every write). A round that takes longer than this fails the bench instead,
// quoting what the cluster's logs say about it. A healthy round of 1 GiB takes under a minute.
const ROUND_LIMIT_MS = arg("round-limit-s", 600) * 1000;

/** `round`, failed if it has not settled within ROUND_LIMIT_MS. */
async function bounded(what, round) {
  const limit = AbortSignal.timeout(ROUND_LIMIT_MS);
  try {
    return await raceAbort(round, limit);
  } catch (error) {
    if (!limit.aborted) throw error;
    throw new Error(`${what} did not finish within ${ROUND_LIMIT_MS / 1000} s${clusterComplaints()}`, { cause: error });
  }
}

/** The last error and fullness lines of the cluster's logs, for the failure message. */
function clusterComplaints() {
  const logs = join(target.dir, "log");
  try {
    const lines = readdirSync(logs).flatMap((file) =>
      readFileSync(join(logs, file), "utf8")
        .split("\n")
        .filter((line) => /failsafe|full status|\[ERR\]/.test(line))
        .map((line) => `${file}: ${line}`),
    );
    return lines.length > 0 ? `; the cluster's logs say:\n${lines.slice(-8).join("\n")}` : "";
  } catch {
    return "";
  }
}

/** CPU seconds the whole machine has been busy (Linux /proc/stat; 0 elsewhere). */
function machineBusySeconds() {
  try {
    const [user, nice, system, , , irq, softirq, steal] = readFileSync("/proc/stat", "utf8")
      .split("\n")[0]
      .split(/\s+/)
      .slice(1)
      .map(Number);
    return (user + nice + system + irq + softirq + steal) / 100;
  } catch {
    return 0;
  }
}

/** Runs `step`, recording its throughput and CPU use under `name` (the warm-up round records nothing). */
async function measured(name, bytes, step, record = true) {
  const cpu = process.cpuUsage();
  const gateway = gatewayCpuSeconds();
  const busy = machineBusySeconds();
  const started = performance.now();
  await step();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const gib = bytes / 2 ** 30;
  const run = {
    mbps: bytes / 1e6 / seconds,
    clientCpu: (used.user + used.system) / 1e6 / gib,
    gatewayCpu: (gatewayCpuSeconds() - gateway) / gib,
    busyCores: (machineBusySeconds() - busy) / seconds,
  };
  console.log(
    `  ${record ? `round ${results[name].length + 1}` : "warm-up"} ${name}: ${run.mbps.toFixed(0)} MB/s, CPU s/GiB ` +
      `client ${run.clientCpu.toFixed(1)}, gateway ${run.gatewayCpu.toFixed(1)}; machine busy ${run.busyCores.toFixed(2)}`,
  );
  if (record) results[name].push(run);
}

const credentials = { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey };
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function dataFor(round) {
  const data = randomFillSync(Buffer.allocUnsafe(SIZE));
  data.writeUInt32LE(round, 0);
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

function castore(prefix) {
  const store = new S3ObjectStore({
    bucket: target.bucket,
    endpoint: target.endpoint,
    forcePathStyle: true,
    credentials,
  });
  return new ObjectStoreBlobService(store, {
    prefix,
    uploadConcurrency: CONCURRENCY,
    downloadConcurrency: CONCURRENCY,
  });
}

/** Runs `task(i)` for i in [0, count) with at most `limit` in flight. */
async function pool(count, limit, task) {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

const raw = new S3Client({
  endpoint: target.endpoint,
  region: "us-east-1",
  forcePathStyle: true,
  credentials,
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
  maxAttempts: 1,
  requestHandler: { httpAgent: { keepAlive: true, maxSockets: 64 } },
});

/** Deletes every object under `prefix`: the gateway keeps objects in RAM, so rounds must not pile up. */
async function deletePrefix(prefix) {
  let token;
  do {
    const page = await raw.send(
      new ListObjectsV2Command({ Bucket: target.bucket, Prefix: prefix, ContinuationToken: token }),
    );
    const keys = (page.Contents ?? []).map((object) => object.Key);
    await pool(keys.length, 16, (i) => raw.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: keys[i] })));
    token = page.NextContinuationToken;
  } while (token);
}

const results = { castorePut: [], rawPut: [], castoreGet: [], rawGet: [] };
let dedup;
try {
  console.log(
    `castore-objectstore vs raw @aws-sdk/client-s3 against Ceph RGW ${target.endpoint}: ${SIZE / MiB} MiB, ` +
      `${CONCURRENCY} requests in flight, a warm-up round, then ${ROUNDS} rounds (shared 2-core machine: figures are noisy); ` +
      `load average ${loadavg()[0].toFixed(2)}`,
  );
  // Round -1 is the warm-up: run in full, counted nowhere.
  for (let round = -1; round < ROUNDS; round++) {
    const record = round >= 0;
    const data = dataFor(round + 1);
    const prefix = `bench-${Date.now()}-${round + 1}`;
    // The raw objects are cut where castore cuts (core's FastCDC at the same sizes).
    const chunker = new FastCdcChunker(chunkSizesFor());
    const offsets = [];
    let previous = 0;
    for (const cut of [...chunker.update(data), ...chunker.finish()]) {
      offsets.push([previous, cut.end - previous]);
      previous = cut.end;
    }

    const castoreRound = async () => {
      const service = castore(prefix);
      let digest;
      // Streamed in 1 MiB writes, as an application would.
      await measured(
        "castorePut",
        SIZE,
        async () => {
          const writer = await service.openWrite();
          for (let offset = 0; offset < SIZE; offset += MiB) await writer.write(data.subarray(offset, offset + MiB));
          digest = await writer.close();
        },
        record,
      );
      if ((await service.chunks(digest)).length !== offsets.length) throw new Error("castore cut differently");
      // A full verified read.
      let read = 0;
      await measured(
        "castoreGet",
        SIZE,
        async () => {
          const reader = await service.openRead(digest);
          for await (const piece of reader) read += piece.length;
        },
        record,
      );
      if (read !== SIZE) throw new Error(`read ${read} bytes, expected ${SIZE}`);
      if (round === 0) {
        // dedup: the same bytes again through a new service (its counters start at zero).
        const again = castore(prefix);
        const started = performance.now();
        const second = await putBlob(again, data);
        const ms = performance.now() - started;
        dedup = { ...again.stats, same: second.equals(digest), chunks: offsets.length, ms };
        await again.close();
      }
      await service.close();
      await deletePrefix(`${prefix}/`);
    };
    const rawRound = async () => {
      await measured(
        "rawPut",
        SIZE,
        () =>
          pool(offsets.length, CONCURRENCY, async (i) => {
            const [start, size] = offsets[i];
            await raw.send(
              new PutObjectCommand({
                Bucket: target.bucket,
                Key: `${prefix}-raw/${i}`,
                Body: data.subarray(start, start + size),
                ContentLength: size,
              }),
            );
          }),
        record,
      );
      let read = 0;
      await measured(
        "rawGet",
        SIZE,
        () =>
          pool(offsets.length, CONCURRENCY, async (i) => {
            const result = await raw.send(new GetObjectCommand({ Bucket: target.bucket, Key: `${prefix}-raw/${i}` }));
            // Not `read += await …`: that reads `read` before awaiting and loses concurrent additions.
            const bytes = await result.Body.transformToByteArray();
            read += bytes.length;
          }),
        record,
      );
      if (read !== SIZE) throw new Error(`raw read ${read} bytes, expected ${SIZE}`);
      await deletePrefix(`${prefix}-raw/`);
    };
    // Alternate who goes first, so neither always meets a fresher or busier gateway.
    const name = round < 0 ? "the warm-up round" : `round ${round + 1}`;
    if (round % 2 === 0) {
      await bounded(`castore's part of ${name}`, castoreRound());
      await bounded(`the raw SDK's part of ${name}`, rawRound());
    } else {
      await bounded(`the raw SDK's part of ${name}`, rawRound());
      await bounded(`castore's part of ${name}`, castoreRound());
    }
  }
  /** A run's CPU seconds per GiB, this process's and the gateway's: the gateway shares the machine's cores. */
  const cpuOf = (run) => (run.clientCpu + run.gatewayCpu).toFixed(1);
  const line = (name, castoreRuns, rawRuns) => {
    const of = (runs, key) => median(runs.map((run) => run[key]));
    const ratios = castoreRuns.map((run, i) => run.mbps / rawRuns[i].mbps);
    // The lower median of the paired ratios, and the round it came from.
    const order = ratios.map((_, i) => i).sort((a, b) => ratios[a] - ratios[b]);
    const middle = order[Math.floor((order.length - 1) / 2)];
    const c = castoreRuns[middle].mbps;
    const r = rawRuns[middle].mbps;
    recordResult({
      path: `objectstore+s3 ${name} (Ceph RGW)`,
      value: c,
      limit: r,
      limitName: "raw S3 SDK, same objects and concurrency",
      unit: "MB/s",
      goal: 0.8,
      note:
        `${SIZE / MiB} MiB, round with the lower median ratio of ${castoreRuns.length}; ` +
        `CPU s/GiB with the gateway's ${cpuOf(castoreRuns[middle])} against ${cpuOf(rawRuns[middle])}, ` +
        `cores busy ${castoreRuns[middle].busyCores.toFixed(2)} against ${rawRuns[middle].busyCores.toFixed(2)}`,
    });
    const byRound = ratios.map((ratio) => `${(ratio * 100).toFixed(0)}%`).join(" ");
    console.log(
      `${name}: castore ${c.toFixed(0)} MB/s, raw SDK ${r.toFixed(0)} MB/s in round ${middle + 1}, castore/raw = ` +
        `${((c / r) * 100).toFixed(0)}% (goal ≥ 80%; the lower median of the rounds' ratios ${byRound})`,
    );
    console.log(
      `  CPU s/GiB (medians): castore process ${of(castoreRuns, "clientCpu").toFixed(1)}, raw process ${of(rawRuns, "clientCpu").toFixed(1)}; ` +
        `gateway ${of(castoreRuns, "gatewayCpu").toFixed(1)} / ${of(rawRuns, "gatewayCpu").toFixed(1)}; ` +
        `machine busy ${of(castoreRuns, "busyCores").toFixed(2)} / ${of(rawRuns, "busyCores").toFixed(2)} of 2 cores`,
    );
  };
  console.log(
    `load average at the end: ${loadavg()
      .map((load) => load.toFixed(2))
      .join(" ")} (1, 5, 15 min)`,
  );
  line("put", results.castorePut, results.rawPut);
  line("get", results.castoreGet, results.rawGet);
  console.log(
    `dedup: second put of the same ${SIZE / MiB} MiB (${dedup.chunks} chunks) sent ${dedup.chunkBytesPut + dedup.chunkBytesWasted} ` +
      `chunk bytes (${dedup.chunksPut} chunk PUTs, ${dedup.chunksSkipped} chunks found present), same digest: ${dedup.same}, ` +
      `${(dedup.ms / 1000).toFixed(1)} s`,
  );
  if (dedup.chunkBytesPut + dedup.chunkBytesWasted !== 0 || !dedup.same) process.exitCode = 1;
} finally {
  raw.destroy();
  await stopGateway(target);
}
