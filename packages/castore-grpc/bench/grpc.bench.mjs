// Throughput of one big blob (1 GiB; BENCH_BYTES to change) read and put over loopback TCP and a
// unix socket, as ratios to raw node:http2 streaming the same bytes with the same flow-control
// windows, in the same run. The servers run in a child process (bench/servers.mjs), as a daemon
// would. Rows:
//   raw      node:http2, 1 MiB writes, no framing, no hashing
//   connect  Connect as shipped: generated client and server, BlobChunk messages of 1 MiB,
//            compression off, windows opened; no hashing. Slow (a few seconds a GiB) and memory
//            hungry, so only with BENCH_CONNECT=1: a reference for why castore frames blobs itself
//   castore  GrpcBlobService against serveBlobService: hand-framed zero-copy blob streams; the
//            client verifies what it reads and hashes what it puts (BLAKE3), the server hashes
//            what it receives, as castore's API requires
// The castore rows go to the summary of `pnpm bench` (scripts/bench-results.mjs) as ratios to raw.
// Peak RSS, the summary's other castore rows (against 256 MiB), is measured apart, after the rounds:
// for each direction and transport, one castore transfer of the whole blob between a fresh client
// process (bench/castore-client.mjs) and a fresh server process running castore's server alone, so
// each peak is what castore costs a process of its own, as a real client or daemon would have. The
// bench process and the servers of the rounds have streamed raw and earlier rounds already, and
// what those left behind would be counted as castore's. Each process reports its kernel
// high-water mark (VmHWM; scripts/process-memory.mjs), which no sampling interval can miss. The table's
// peak columns show each transport, the summary the worse one. BENCH_MEMORY=0 skips this pass;
// BENCH_ONLY applies to it too. The table's RSS+ columns are growth during the best round, sampled
// every 20 ms in the processes of the rounds.
// Run with `pnpm bench` at the root (or `pnpm --filter castore-grpc bench` after a build).
import { fork } from "node:child_process";
import { once } from "node:events";
import * as http2 from "node:http2";
import * as net from "node:net";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { B3Digest } from "castore-core";
import { pseudoRandomBytes } from "castore-fixtures";
import { recordResult } from "../../../scripts/bench-results.mjs";
import { WindowedSessionManager } from "../dist/client/session.js";
import { openConnectionWindow, receiveSettings } from "../dist/flow-control.js";
import { BlobService as ConnectBlobService } from "../dist/gen/tvix/castore/v1/castore_pb.js";
import { castorePut, castoreRead } from "./castore-client.mjs";

const MiB = 1 << 20;
const total = Number(process.env.BENCH_BYTES ?? 1024 * MiB);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
// For profiling one case: BENCH_ONLY="unix put castore" runs only the rows whose key contains it.
const only = process.env.BENCH_ONLY ?? "";
const kinds = process.env.BENCH_CONNECT === "1" ? ["raw", "connect", "castore"] : ["raw", "castore"];
const memoryPass = process.env.BENCH_MEMORY !== "0";
if (!Number.isSafeInteger(total / MiB) || total <= 0) throw new Error("BENCH_BYTES must be a multiple of 1 MiB");
const blocks = total / MiB;
const block = pseudoRandomBytes(MiB, 42); // the same bytes the servers send

const env = { ...process.env, BENCH_BYTES: String(total) };
/** Forks bench/servers.mjs with the servers `names`; resolves to it once it listens. */
async function forkServers(names) {
  const child = fork(new URL("./servers.mjs", import.meta.url), names, { env });
  const [{ addresses, digest }] = await once(child, "message");
  return { child, addresses, digest };
}
const { child: server, addresses, digest } = await forkServers(["raw", "connect", "castore"]);
const bigDigest = B3Digest.parse(digest);
const ask = async (message, child = server) => {
  child.send(message);
  const [reply] = await once(child, "message");
  return reply;
};

function nodeOptions(transport, where) {
  return transport === "unix" ? { createConnection: () => net.connect(where) } : {};
}
const origin = (transport, where) => (transport === "unix" ? "http://localhost" : where);

async function rawSession(transport, where) {
  const session = http2.connect(origin(transport, where), {
    ...nodeOptions(transport, where),
    settings: receiveSettings(),
  });
  await once(session, "connect");
  openConnectionWindow(session);
  return session;
}

const write = (stream, chunk) =>
  new Promise((resolve, reject) => stream.write(chunk, (e) => (e ? reject(e) : resolve())));

const runs = {
  raw: {
    async read(transport, where) {
      const session = await rawSession(transport, where);
      const stream = session.request({ ":path": "/read" });
      stream.end();
      let received = 0;
      for await (const chunk of stream) received += chunk.length;
      session.close();
      return received;
    },
    async put(transport, where) {
      const session = await rawSession(transport, where);
      const stream = session.request({ ":path": "/put", ":method": "POST" });
      for (let i = 0; i < blocks; i++) await write(stream, block);
      stream.end();
      let reply = "";
      for await (const chunk of stream) reply += chunk;
      session.close();
      return Number(reply);
    },
  },
  connect: {
    client(transport, where) {
      const sessionManager = new WindowedSessionManager(origin(transport, where), nodeOptions(transport, where));
      const transportImpl = createGrpcTransport({
        baseUrl: origin(transport, where),
        sessionManager,
        acceptCompression: [],
      });
      return { client: createClient(ConnectBlobService, transportImpl), sessionManager };
    },
    async read(transport, where) {
      const { client, sessionManager } = this.client(transport, where);
      let received = 0;
      for await (const message of client.read({ digest: new Uint8Array(32) })) received += message.data.length;
      sessionManager.abort();
      return received;
    },
    async put(transport, where) {
      const { client, sessionManager } = this.client(transport, where);
      await client.put(
        (async function* () {
          for (let i = 0; i < blocks; i++) yield { data: block };
        })(),
      );
      sessionManager.abort();
      return total;
    },
  },
  castore: {
    read: (_transport, address) => castoreRead(address, bigDigest),
    put: (_transport, address) => castorePut(address, bigDigest, block, blocks),
  },
};

const best = new Map(); // "transport direction kind" → { gbps, clientPeak, serverPeak }
let clientPeak = 0;
setInterval(() => {
  clientPeak = Math.max(clientPeak, process.memoryUsage.rss());
}, 20).unref();

for (let round = 0; round < rounds; round++) {
  for (const transport of ["tcp", "unix"]) {
    for (const direction of ["read", "put"]) {
      for (const kind of kinds) {
        if (!`${transport} ${direction} ${kind}`.includes(only)) continue;
        globalThis.gc?.();
        const { peakRss: serverStart, cpu: serverCpuStart } = await ask("reset-peak");
        clientPeak = process.memoryUsage.rss();
        const clientStart = clientPeak;
        const clientCpuStart = process.cpuUsage();
        const start = performance.now();
        const moved = await runs[kind][direction](transport, addresses[kind][transport]);
        const seconds = (performance.now() - start) / 1000;
        const clientCpu = process.cpuUsage(clientCpuStart);
        if (moved !== total) throw new Error(`${kind} ${direction} moved ${moved} bytes, expected ${total}`);
        const { peakRss: serverPeak, cpu: serverCpuEnd } = await ask("peak");
        const key = `${transport} ${direction} ${kind}`;
        const gbps = total / seconds / 1e9;
        const cpuMs = (usage) => (usage.user + usage.system) / 1000;
        const row = {
          gbps,
          client: clientPeak - clientStart,
          server: serverPeak - serverStart,
          clientCpu: cpuMs(clientCpu),
          serverCpu: cpuMs(serverCpuEnd) - cpuMs(serverCpuStart),
        };
        const previous = best.get(key);
        if (!previous || previous.gbps < gbps) best.set(key, row);
      }
    }
  }
}
server.send("exit");
await once(server, "exit");

/**
 * One castore transfer of the whole blob in a fresh client process against a fresh server process
 * with castore's server alone; resolves to the peak RSS of each.
 */
async function freshPeaks(transport, direction) {
  const { child: servers, addresses } = await forkServers(["castore"]);
  try {
    const client = fork(
      new URL("./castore-client.mjs", import.meta.url),
      [direction, addresses.castore[transport], digest],
      { env },
    );
    const exited = once(client, "exit").then(([code]) => {
      throw new Error(`castore ${direction} client exited with ${code} before reporting`);
    });
    const [{ moved, peakRss }] = await Promise.race([once(client, "message"), exited]);
    exited.catch(() => {}); // it exits once it has reported
    if (moved !== total) throw new Error(`castore ${direction} moved ${moved} bytes, expected ${total}`);
    const { processPeak } = await ask("peak", servers);
    return { client: peakRss, server: processPeak };
  } finally {
    servers.send("exit");
    await once(servers, "exit");
  }
}

const peaks = new Map(); // "transport direction" → { client, server }: bytes, VmHWM of fresh processes
if (memoryPass) {
  for (const transport of ["tcp", "unix"]) {
    for (const direction of ["read", "put"]) {
      if (!`${transport} ${direction} castore`.includes(only)) continue;
      peaks.set(`${transport} ${direction}`, await freshPeaks(transport, direction));
    }
  }
}

const mib = (bytes) => `${(bytes / MiB).toFixed(0)} MiB`;
console.log(`one ${mib(total)} blob, best of ${rounds} rounds, GB/s and ratio to raw node:http2 in this run`);
console.log("CPU time per GiB and peak RSS growth (RSS+) in the best round, of the client and the server process");
if (peaks.size > 0) {
  console.log("castore's peak RSS: one transfer in a fresh client process against a fresh server process (VmHWM)");
}
const rows = [];
for (const transport of ["tcp", "unix"]) {
  for (const direction of ["read", "put"]) {
    const raw = best.get(`${transport} ${direction} raw`)?.gbps;
    for (const kind of kinds) {
      if (!best.has(`${transport} ${direction} ${kind}`)) continue;
      const {
        gbps,
        client,
        server: serverGrowth,
        clientCpu,
        serverCpu,
      } = best.get(`${transport} ${direction} ${kind}`);
      const perGiB = (ms) => `${Math.round((ms * 1024 * MiB) / total)} ms`;
      const peak = kind === "castore" ? peaks.get(`${transport} ${direction}`) : undefined;
      rows.push({
        transport,
        direction,
        kind,
        "GB/s": gbps.toFixed(2),
        "of raw": raw ? `${((gbps / raw) * 100).toFixed(0)}%` : "-",
        "client CPU/GiB": perGiB(clientCpu),
        "server CPU/GiB": perGiB(serverCpu),
        "client RSS+": mib(client),
        "server RSS+": mib(serverGrowth),
        ...(peaks.size > 0 && {
          "client peak": peak ? mib(peak.client) : "-",
          "server peak": peak ? mib(peak.server) : "-",
        }),
      });
    }
  }
}
console.table(rows);

const transportName = { tcp: "TCP", unix: "unix" };
const directionName = { read: "Read", put: "Put" };
const worstPeak = { read: { client: 0, server: 0 }, put: { client: 0, server: 0 } };
/**
 * A round's CPU seconds per GiB, client and server together: on a machine of few cores the summary
 * shows beside each rate the work behind it (castore hashes what raw moves as opaque bytes).
 */
const cpuPerGiB = ({ clientCpu, serverCpu }) => (((clientCpu + serverCpu) / 1000) * ((1024 * MiB) / total)).toFixed(2);
for (const transport of ["tcp", "unix"]) {
  for (const direction of ["read", "put"]) {
    const castore = best.get(`${transport} ${direction} castore`);
    const raw = best.get(`${transport} ${direction} raw`);
    const peak = peaks.get(`${transport} ${direction}`);
    if (peak) {
      worstPeak[direction].client = Math.max(worstPeak[direction].client, peak.client);
      worstPeak[direction].server = Math.max(worstPeak[direction].server, peak.server);
    }
    if (!castore || !raw) continue;
    recordResult({
      path: `gRPC ${directionName[direction]}, ${transportName[transport]}`,
      value: castore.gbps,
      limit: raw.gbps,
      limitName: "raw node:http2",
      unit: "GB/s",
      goal: 0.8,
      note: `${mib(total)}, verified; CPU s/GiB ${cpuPerGiB(castore)} against ${cpuPerGiB(raw)}`,
    });
  }
}
for (const direction of ["read", "put"]) {
  for (const side of ["client", "server"]) {
    if (worstPeak[direction][side] === 0) continue;
    recordResult({
      path: `peak RSS, gRPC ${directionName[direction]}, ${side}`,
      value: worstPeak[direction][side] / MiB,
      limit: 256,
      limitName: "bound",
      unit: "MiB",
      better: "lower",
      goal: 1,
      note: mib(total),
    });
  }
}
