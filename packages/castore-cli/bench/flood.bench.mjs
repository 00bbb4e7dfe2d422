// The daemon flooded with calls: 40,000 uploads (BENCH_FLOOD_CALLS) that send an empty message and
// then nothing, 100 on each of 400 connections, against a daemon with its default limits on a memory
// store. The daemon holds as many as its call cap (--max-calls, 4096) and answers the rest
// UNAVAILABLE at once; meanwhile it must still answer health checks, and take calls again once the
// flood lets go. Reports the daemon's peak RSS (VmHWM), which must stay under 768 MiB: without the
// cap, 40,000 such calls took it past 1.1 GiB and climbing, each holding its stream and record.
import { once } from "node:events";
import * as http2 from "node:http2";
import { isUnavailable } from "castore-core";
import { GrpcBlobService } from "castore-grpc";
import { startDaemon } from "./daemon-process.mjs";
import { holdCalls } from "./hold-calls.mjs";

const CALLS = Number(process.env.BENCH_FLOOD_CALLS ?? 40_000);
const CAP = 4096; // the daemon's default --max-calls
// Measured: 534–581 MiB for 40,000 (4,096 held); 900 MiB for 100,000.
const RSS_LIMIT_MIB = 768;
if (!Number.isSafeInteger(CALLS) || CALLS <= CAP) throw new Error(`BENCH_FLOOD_CALLS must be more than ${CAP}`);

// The stall timeout is raised so that no held call ends, and frees its place, during the flood: the
// count of refusals is then exact.
const { daemon, address, rssMiB } = await startDaemon(
  ["--blob-service-addr", "memory://", "--stalled-body-timeout", "600", "--log-level", "error"],
  { manyFiles: true },
);
const origin = address.replace("grpc+", "");
const baseline = rssMiB("VmRSS");

/** One gRPC call with an empty request on a connection of its own; resolves to its grpc-status. */
function callOnce(path) {
  const session = http2.connect(origin);
  session.on("error", () => {});
  return new Promise((resolve) => {
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc" });
    stream.on("error", () => resolve("error"));
    let status;
    stream.on("response", (headers) => {
      status ??= headers["grpc-status"];
    });
    stream.on("trailers", (trailers) => {
      status ??= trailers["grpc-status"];
    });
    stream.on("close", () => {
      session.close();
      resolve(String(status));
    });
    stream.end(Buffer.alloc(5));
    stream.resume();
  });
}

const started = performance.now();
const allRefused = Promise.withResolvers();
let refused = 0;
const sessions = holdCalls(origin, CALLS, "Put", {}, (stream) => {
  stream.on("response", (headers) => {
    if (headers["grpc-status"] === "14" && ++refused === CALLS - CAP) allRefused.resolve();
  });
  stream.resume();
  stream.write(Buffer.alloc(5)); // an empty message, and never END_STREAM
});
const timeout = setTimeout(
  () => allRefused.reject(new Error(`${refused} refused of ${CALLS - CAP} expected`)),
  300_000,
);
await allRefused.promise;
clearTimeout(timeout);
const floodSeconds = (performance.now() - started) / 1000;
const peak = rssMiB("VmHWM");
// Full: health checks pass, other calls are refused.
const healthStatus = await callOnce("/grpc.health.v1.Health/Check");
const statWhileFull = await callOnce("/tvix.castore.v1.BlobService/Stat");

// The flood lets go: a normal client gets through once the daemon has closed the held calls.
for (const session of sessions) session.destroy();
const client = new GrpcBlobService(address);
let refusedAfter = 0;
for (;;) {
  try {
    await client.has(new Uint8Array(32));
    break;
  } catch (error) {
    if (!isUnavailable(error) || ++refusedAfter > 10_000) throw error;
  }
}
await client.close();
daemon.kill("SIGTERM");
await once(daemon, "exit");

const ok = healthStatus === "0" && statWhileFull === "14" && peak < RSS_LIMIT_MIB;
console.log(
  JSON.stringify({
    bench: "daemon-flood",
    calls: CALLS,
    refused,
    held: CALLS - refused,
    floodSeconds: Math.round(floodSeconds * 10) / 10,
    whileFull: { healthStatus, statStatus: statWhileFull },
    refusedWhileLettingGo: refusedAfter,
    daemonRssMiB: { baseline: Math.round(baseline), peak: Math.round(peak), limit: RSS_LIMIT_MIB },
    ok,
  }),
);
console.log(
  `daemon flooded with ${CALLS} calls: ${CALLS - refused} held, ${refused} refused in ${floodSeconds.toFixed(1)} s; ` +
    `health ${healthStatus === "0" ? "answered" : `failed (${healthStatus})`} while full; daemon RSS ` +
    `${Math.round(baseline)} MiB at start, peak ${Math.round(peak)} MiB (limit ${RSS_LIMIT_MIB}) — ${ok ? "OK" : "FAILED"}`,
);
if (!ok) process.exitCode = 1;
