// `castore put` and `castore cat` of one big file (1 GiB; BENCH_BYTES to change) through a daemon,
// end to end, against the same commands on the same kind of store used locally, in the same run.
// The store is the default one (what `castore` uses with no address, under a temporary
// XDG_DATA_HOME): locally the command opens it in its own process; through the daemon the command
// talks gRPC over a unix socket (grpc+unix://) to `castore daemon`, which serves its own default
// store. Both stores live in the same directory (/dev/shm when it exists), so the comparison is of
// the path, not of two disks. Every command runs as a real process; peak RSS comes from
// /proc/PID/status (VmHWM), reset in the daemon before each command. Best of BENCH_ROUNDS (2).
// Beside each rate, the CPU seconds per GiB the best round used, all threads (/proc/PID/stat): of the
// local command, and of the command and the daemon through it. On a machine of few cores the
// through-the-daemon path is bound by its total CPU: the bytes cross a socket and are hashed on
// both sides, work the local command does not do at all.
// Run with `pnpm bench` at the root (or `pnpm --filter castore-cli bench` after a build).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pseudoRandomBytes } from "castore-fixtures";
import { recordResult } from "../../../scripts/bench-results.mjs";
import { DAEMON_NODE_FLAGS } from "../../../scripts/daemon-node-flags.mjs";
import { processCpuSeconds } from "../../../scripts/process-cpu.mjs";
import { procStatusBytes } from "../../../scripts/process-memory.mjs";

const MiB = 1 << 20;
const BYTES = Number(process.env.BENCH_BYTES ?? 1024 * MiB);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const bin = join(import.meta.dirname, "..", "dist", "bin.js");
const base = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "castore-daemon-bench-"));

/** Peak resident set of a live process in bytes (VmHWM), or NaN where /proc is absent. */
const peakRss = (pid) => procStatusBytes("VmHWM", pid) ?? Number.NaN;
/** Forgets a process's peak, so the next VmHWM is the peak from now on (Linux). */
function resetPeakRss(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {}
}

/**
 * Runs `castore ARGS` with its own XDG_DATA_HOME; stdout goes to /dev/null unless `capture`.
 * Returns seconds, its stdout (when captured), its peak RSS and its CPU seconds (both sampled every
 * 10 ms until it exits: the CPU of its last few ms, and of its exit, is not counted).
 */
async function castore(args, dataHome, { capture = false } = {}) {
  const start = performance.now();
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, XDG_DATA_HOME: dataHome, CASTORE_BLOB_SERVICE_ADDR: "" },
    stdio: ["ignore", capture ? "pipe" : "ignore", "inherit"],
  });
  let peak = 0;
  let cpu = 0;
  const sample = setInterval(() => {
    const rss = peakRss(child.pid);
    if (rss > peak) peak = rss;
    cpu = processCpuSeconds(child.pid) ?? cpu;
  }, 10);
  let output = "";
  child.stdout?.on("data", (data) => {
    output += data;
  });
  const [code] = await once(child, "exit");
  clearInterval(sample);
  const seconds = (performance.now() - start) / 1000;
  if (code !== 0) throw new Error(`castore ${args.join(" ")} exited with ${code}`);
  return { seconds, output: output.trim(), peak, cpu };
}

async function startDaemon(dataHome, socket) {
  // With the Node flags `npm start` gives the daemon (see scripts/daemon-node-flags.mjs).
  const args = [...DAEMON_NODE_FLAGS, bin, "daemon", "--listen-address", `unix:${socket}`, "--log-level", "warn"];
  const daemon = spawn(process.execPath, args, {
    env: { ...process.env, XDG_DATA_HOME: dataHome },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await once(daemon.stdout, "data"); // the "listening on" line
  return daemon;
}

const file = join(base, "blob");
writeFileSync(file, pseudoRandomBytes(BYTES, 15));
const best = {};
/** Keeps a row's best rate with the CPU seconds of that round (one figure per process), and its highest peak. */
const keep = (row, seconds, peak, cpu = []) => {
  const previous = best[row];
  const gbps = BYTES / seconds / 1e9;
  const faster = previous === undefined || gbps > previous.gbps;
  best[row] = {
    gbps: faster ? gbps : previous.gbps,
    cpu: faster ? cpu : previous.cpu,
    peak: Math.max(previous?.peak ?? 0, peak),
  };
};
const daemonCpu = (daemon) => processCpuSeconds(daemon.pid) ?? Number.NaN;

try {
  for (let round = 0; round < ROUNDS; round++) {
    // Fresh stores every round: a put into a store that holds the blob already would skip its writes.
    const localHome = join(base, `local-${round}`);
    const daemonHome = join(base, `daemon-${round}`);
    const socket = join(base, `daemon-${round}.sock`);
    const remote = ["--blob-service-addr", `grpc+unix://${socket}`];
    const daemon = await startDaemon(daemonHome, socket);
    try {
      const local = await castore(["put", file], localHome, { capture: true });
      keep("put local", local.seconds, local.peak, [local.cpu]);
      resetPeakRss(daemon.pid);
      let daemonBefore = daemonCpu(daemon);
      const viaDaemon = await castore(["put", file, ...remote], daemonHome, { capture: true });
      keep("put via daemon", viaDaemon.seconds, viaDaemon.peak, [viaDaemon.cpu, daemonCpu(daemon) - daemonBefore]);
      keep("daemon during put", Number.POSITIVE_INFINITY, peakRss(daemon.pid));
      if (viaDaemon.output !== local.output) throw new Error(`digests differ: ${viaDaemon.output} ${local.output}`);
      const digest = local.output;
      const catLocal = await castore(["cat", digest], localHome);
      keep("cat local", catLocal.seconds, catLocal.peak, [catLocal.cpu]);
      resetPeakRss(daemon.pid);
      daemonBefore = daemonCpu(daemon);
      const catDaemon = await castore(["cat", digest, ...remote], daemonHome);
      keep("cat via daemon", catDaemon.seconds, catDaemon.peak, [catDaemon.cpu, daemonCpu(daemon) - daemonBefore]);
      keep("daemon during cat", Number.POSITIVE_INFINITY, peakRss(daemon.pid));
    } finally {
      daemon.kill("SIGTERM");
      await once(daemon, "exit");
      rmSync(localHome, { recursive: true, force: true });
      rmSync(daemonHome, { recursive: true, force: true });
    }
  }
} finally {
  rmSync(base, { recursive: true, force: true });
}

const gbps = (row) => best[row].gbps.toFixed(2);
const mib = (row) => `${(best[row].peak / MiB).toFixed(0)} MiB`;
/** CPU seconds per GiB of each process of the row's best round. */
const cpuPerGiB = (row) => best[row].cpu.map((seconds) => (seconds / (BYTES / 2 ** 30)).toFixed(2));
const sum = (figures) => figures.reduce((total, figure) => total + Number(figure), 0).toFixed(2);
console.log(
  `castore put/cat of ${BYTES / MiB} MiB, default store, best of ${ROUNDS} rounds (GB/s, CPU s/GiB, peak RSS)`,
);
for (const op of ["put", "cat"]) {
  const [localCpu] = cpuPerGiB(`${op} local`);
  const [clientCpu, serverCpu] = cpuPerGiB(`${op} via daemon`);
  const cpuThere = sum([clientCpu, serverCpu]);
  console.log(
    `  ${op}: local ${gbps(`${op} local`)} (${localCpu} CPU s/GiB, ${mib(`${op} local`)})  via daemon ${gbps(`${op} via daemon`)} (${cpuThere} CPU s/GiB: client ${clientCpu}, daemon ${serverCpu}; client ${mib(`${op} via daemon`)}, daemon ${mib(`daemon during ${op}`)})`,
  );
  recordResult({
    path: `castore ${op} via daemon`,
    value: best[`${op} via daemon`].gbps,
    limit: best[`${op} local`].gbps,
    limitName: "same store locally",
    unit: "GB/s",
    goal: 0.8,
    note: `default store, grpc+unix, ${BYTES / MiB} MiB; CPU s/GiB ${cpuThere} (client ${clientCpu}, daemon ${serverCpu}) against ${localCpu} locally`,
  });
  for (const [who, row] of [
    ["client", `${op} via daemon`],
    ["daemon", `daemon during ${op}`],
  ]) {
    recordResult({
      path: `peak RSS, castore ${op} via daemon, ${who}`,
      value: best[row].peak / MiB,
      limit: 256,
      limitName: "bound",
      unit: "MiB",
      better: "lower",
      goal: 1,
      note: `${BYTES / MiB} MiB`,
    });
  }
}
