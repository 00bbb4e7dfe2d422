// What the daemon's metrics cost: gRPC Put and Read throughput of one blob (64 MiB; BENCH_BYTES to
// change), and the rate of small Stat calls (where per-call bookkeeping shows most), against three
// daemons started alike: one with --metrics-address and two without, fresh in every round
// (BENCH_ROUNDS, default 5), measured in an order that rotates: the best of each, the median of the
// rounds' on/off ratios, and each daemon's CPU time. The second daemon without metrics is the
// control: identical processes differ too, and "off vs off" shows by how much, so an "on vs off"
// within that spread is no measurable cost. The summary gets the throughput medians and the CPU
// totals (CPU time, from Linux /proc, is what metrics could add, and barely moves with other load).
// The bench also measures, in this process, what the metrics observer costs per call (prom-client
// counters, gauge, histogram) and puts that next to the time a Stat call took: the overhead metrics
// can add at most, whatever the noise.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { B3Digest, getBlob, putBlob } from "castore-core";
import { pseudoRandomBytes } from "castore-fixtures";
import { GrpcBlobService } from "castore-grpc";
import * as prom from "prom-client";
import { recordResult } from "../../../scripts/bench-results.mjs";
import { DaemonMetrics } from "../dist/daemon/metrics.js";

const MiB = 1 << 20;
const BYTES = Number(process.env.BENCH_BYTES ?? 64 * MiB);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const STATS = Number(process.env.BENCH_STATS ?? 2000);
const bin = join(import.meta.dirname, "..", "dist", "bin.js");

async function startDaemon(extra) {
  const daemon = spawn(
    process.execPath,
    [
      bin,
      "daemon",
      "--listen-address",
      "127.0.0.1:0",
      "--blob-service-addr",
      "memory://",
      "--log-level",
      "warn",
      ...extra,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const [startup] = await once(daemon.stdout, "data");
  const address = /listening on (\S+)/.exec(String(startup))?.[1];
  if (!address) throw new Error(`unexpected startup line: ${startup}`);
  return { daemon, client: new GrpcBlobService(address) };
}

const blob = pseudoRandomBytes(BYTES, 16);
const absent = B3Digest.fromBytes(new Uint8Array(32));
/** The daemons each round starts afresh: identical processes differ (see below), so none is reused. */
const flags = { off: [], on: ["--metrics-address", "127.0.0.1:0"], control: [] };

async function stopDaemon({ daemon, client }) {
  await client.close();
  daemon.kill("SIGTERM");
  await once(daemon, "exit");
}
/** A process's user + system CPU time in ms (clock ticks of 10 ms), or NaN where /proc is absent. */
function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}
const names = Object.keys(flags);
const cpu = Object.fromEntries(names.map((name) => [name, {}]));
const best = Object.fromEntries(names.map((name) => [name, {}]));
const ratios = {};
const controlRatios = {};
const thisRound = Object.fromEntries(names.map((name) => [name, {}]));
const rates = Object.fromEntries(names.map((name) => [name, {}]));
const keep = (name, row, value) => {
  best[name][row] = Math.max(best[name][row] ?? 0, value);
  thisRound[name][row] = value;
  (rates[name][row] ??= []).push(value);
};

for (let round = 0; round < ROUNDS; round++) {
  // Fresh daemons every round: one process can run a Put at twice another's rate for reasons of its
  // own (where its memory landed; seen on this machine with identical daemons side by side), so
  // reusing processes measures their luck. Each is warmed with one Put of the blob first.
  const targets = {};
  try {
    for (const name of names) {
      targets[name] = await startDaemon(flags[name]);
      await putBlob(targets[name].client, blob);
    }
    // Rotate which goes first, so none always runs on a warmer (or busier) machine.
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) {
      const { client, daemon } = targets[name];
      const measure = async (row, work) => {
        const cpuBefore = cpuMs(daemon.pid);
        const start = performance.now();
        const [result, amount] = await work();
        keep(name, row, amount / ((performance.now() - start) / 1000));
        cpu[name][row] = (cpu[name][row] ?? 0) + cpuMs(daemon.pid) - cpuBefore;
        return result;
      };
      const digest = await measure("put MiB/s", async () => [await putBlob(client, blob), BYTES / MiB]);
      const read = await measure("read MiB/s", async () => [await getBlob(client, digest), BYTES / MiB]);
      if (read?.length !== BYTES) throw new Error("read back the wrong length");
      await measure("stat calls/s", async () => {
        for (let i = 0; i < STATS; i++) await client.has(absent);
        return [undefined, STATS];
      });
    }
    for (const row of Object.keys(thisRound.off)) {
      (ratios[row] ??= []).push(thisRound.on[row] / thisRound.off[row]);
      (controlRatios[row] ??= []).push(thisRound.control[row] / thisRound.off[row]);
    }
  } finally {
    await Promise.all(Object.values(targets).map(stopDaemon));
  }
}

const median = (values) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(`metrics on vs off, ${BYTES / MiB} MiB blob, ${STATS} Stats, ${ROUNDS} rounds (shared machine: noisy)`);
for (const row of Object.keys(best.off)) {
  const off = best.off[row];
  const on = best.on[row];
  console.log(
    `  ${row.padEnd(13)} best off ${off.toFixed(0).padStart(6)}  on ${on.toFixed(0).padStart(6)}  on/off ${(on / off).toFixed(3)}  median of rounds' on/off ${median(ratios[row]).toFixed(3)}  daemon CPU ms off ${cpu.off[row]} on ${cpu.on[row]} (on/off ${(cpu.on[row] / cpu.off[row]).toFixed(3)})`,
  );
  const control = best.control[row];
  console.log(
    `  ${"".padEnd(13)} control (a second daemon without metrics): best ${control.toFixed(0).padStart(6)}  control/off ${(control / off).toFixed(3)}  median of rounds' control/off ${median(controlRatios[row]).toFixed(3)}  daemon CPU ms ${cpu.control[row]} (control/off ${(cpu.control[row] / cpu.off[row]).toFixed(3)})`,
  );
  const unit = row.split(" ").slice(1).join(" ");
  // The summary takes medians over the rounds' fresh daemons: what a daemon can expect, not its luck.
  recordResult({
    path: `daemon ${row.split(" ")[0]} with metrics on`,
    value: median(rates.on[row]),
    limit: median(rates.off[row]),
    limitName: "metrics off",
    unit,
    goal: 0.97,
    note: `medians of ${ROUNDS} rounds of fresh daemons; control off/off ${(median(rates.control[row]) / median(rates.off[row])).toFixed(2)}`,
  });
  recordResult({
    path: `daemon CPU for ${row.split(" ")[0]} with metrics on`,
    value: cpu.on[row],
    limit: cpu.off[row],
    limitName: "metrics off",
    unit: "ms",
    better: "lower",
    goal: 1.03,
    note: `${ROUNDS} rounds; control off/off ${(cpu.control[row] / cpu.off[row]).toFixed(2)}`,
  });
  console.log(
    `  ${"".padEnd(13)} medians over rounds: off ${median(rates.off[row]).toFixed(0)}  on ${median(rates.on[row]).toFixed(0)}  control ${median(rates.control[row]).toFixed(0)}`,
  );
}

// The observer's own cost per call, measured here without sockets or another process in the way.
const observer = new DaemonMetrics(prom, "memory").observer();
const call = { service: "tvix.castore.v1.BlobService", method: "Stat", protocol: "grpc", headers: {} };
const end = { code: 5, status: "NOT_FOUND", durationMs: 1, bytesReceived: 0, bytesSent: 0, digest: undefined };
let perCallUs = Number.POSITIVE_INFINITY;
for (let round = 0; round < 5; round++) {
  const start = performance.now();
  for (let i = 0; i < 100_000; i++) observer.callStarted(call).ended(end);
  perCallUs = Math.min(perCallUs, ((performance.now() - start) * 1000) / 100_000);
}
const statUs = 1e6 / best.off["stat calls/s"];
console.log(
  `  metrics observer: ${perCallUs.toFixed(2)} µs per call = ${((100 * perCallUs) / statUs).toFixed(2)}% of a Stat call (${statUs.toFixed(0)} µs)`,
);
