// The daemon under abuse: 1,000 stalled uploads (each sent 1.5 MiB of a Put, then nothing), 1,000
// stalled downloads (Reads of a 32 MiB chunked blob on connections that open no HTTP/2 window, so
// not a byte of the answer can leave) and 1,000 half-open connections ('PRI ', a bare HTTP/2
// preface, HTTP/1.1 headers never finished) held against it, while a normal client keeps putting,
// statting and reading small blobs. Reports whether every call of the normal client succeeded and
// the daemon's peak RSS (VmHWM), which must stay under 640 MiB. Everything is on loopback, bounded
// in count (BENCH_STALLED, BENCH_STALLED_READS, BENCH_HALF_OPEN) and time (BENCH_SECONDS). The
// daemon runs with its default limits, in its own process.
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getBlob, putBlob } from "castore-core";
import { pseudoRandomBytes } from "castore-fixtures";
import { GrpcBlobService } from "castore-grpc";
import { startDaemon } from "./daemon-process.mjs";
import { holdCalls } from "./hold-calls.mjs";

const STALLED = Number(process.env.BENCH_STALLED ?? 1000);
const STALLED_READS = Number(process.env.BENCH_STALLED_READS ?? 1000);
const HALF_OPEN = Number(process.env.BENCH_HALF_OPEN ?? 1000);
const READ_BLOB_BYTES = 32 * 2 ** 20;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const STALLED_BYTES = 1.5 * 2 ** 20;
// Each 1,000 hostile calls cost the daemon about 130 MiB of its own state outside the byte budget
// (streams, call records, collections not yet run): 422–445 MiB with the uploads and half-open
// connections alone, 569–576 with the downloads too.
const RSS_LIMIT_MIB = 640;

const dir = mkdtempSync(join(tmpdir(), "castore-abuse-"));
// This process was started by the package script with a raised descriptor limit too.
const { daemon, address, rssMiB } = await startDaemon(
  [
    "--blob-service-addr",
    `sqlite://${dir}/blobs.sqlite`,
    "--log-level",
    "error",
    ...(process.env.BENCH_DAEMON_ARGS ?? "").split(" ").filter(Boolean),
  ],
  { manyFiles: true },
);
const origin = address.replace("grpc+", "");
const { hostname, port } = new URL(origin);
const baseline = rssMiB("VmRSS");

// The blob the stalled downloads ask for, put while the budget is free (it is, by design, not once the
// stalled uploads below hold it).
const client = new GrpcBlobService(address);
const readBlob = await putBlob(client, pseudoRandomBytes(READ_BLOB_BYTES, 2));

// 1,000 stalled uploads, 100 per connection (the daemon's streams per connection).
const payload = Buffer.from(pseudoRandomBytes(STALLED_BYTES, 1));
const header = Buffer.from([0, ...new Uint8Array(new Uint32Array([0]).buffer)]); // replaced below
header.writeUInt32BE(STALLED_BYTES + 4, 1);
const field = Buffer.from([0x0a, 0x80, 0x80, 0x60]); // tag, varint 1.5 MiB
const sessions = holdCalls(origin, STALLED, "Put", {}, (stream) => {
  stream.write(header);
  stream.write(field);
  stream.write(payload); // and never the rest of the message, nor END_STREAM
});

// 1,000 stalled downloads of one chunked blob, on connections that open no window. Each Read the
// daemon serves holds its reader's read-ahead (before Reads were charged to the budget, 500 of them
// took it from 90 MiB to 1 GiB).
const readRequest = Buffer.concat([Buffer.from([0, 0, 0, 0, 34, 0x0a, 32]), readBlob.bytes]);
sessions.push(
  ...holdCalls(origin, STALLED_READS, "Read", { initialWindowSize: 0 }, (stream) => stream.end(readRequest)),
);

// 1,000 half-open connections.
const shapes = ["PRI ", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", `POST / HTTP/1.1\r\nHost: ${hostname}:${port}\r\nX-Slow: `];
const halfOpen = [];
for (let i = 0; i < HALF_OPEN; i++) {
  const socket = net.connect(Number(port), hostname);
  socket.on("error", () => {});
  socket.write(shapes[i % shapes.length]);
  halfOpen.push(socket);
}

// The normal client: put, stat, read back, for BENCH_SECONDS.
let calls = 0;
let failures = 0;
let peakSampled = baseline;
const sampler = setInterval(() => {
  peakSampled = Math.max(peakSampled, rssMiB("VmRSS"));
}, 100);
const until = Date.now() + SECONDS * 1000;
for (let n = 0; Date.now() < until; n++) {
  const data = pseudoRandomBytes(32 * 1024, 1000 + n);
  try {
    const digest = await putBlob(client, data);
    const present = await client.has(digest);
    const back = await getBlob(client, digest);
    if (!present || !back || Buffer.compare(Buffer.from(back), Buffer.from(data)) !== 0) failures++;
  } catch (error) {
    failures++;
    if (failures <= 3) console.error("normal client call failed:", error.message);
  }
  calls += 3;
}
clearInterval(sampler);
const openHalf = halfOpen.filter((socket) => !socket.destroyed).length;
const openSessions = sessions.filter((session) => !session.destroyed).length;
const peak = Math.max(peakSampled, rssMiB("VmHWM"));

await client.close();
for (const socket of halfOpen) socket.destroy();
for (const session of sessions) session.destroy();
daemon.kill("SIGTERM");
await once(daemon, "exit");
rmSync(dir, { recursive: true, force: true });

const ok = failures === 0 && peak < RSS_LIMIT_MIB;
console.log(
  JSON.stringify({
    bench: "daemon-abuse",
    stalledUploads: STALLED,
    stalledBytesEach: STALLED_BYTES,
    stalledReads: STALLED_READS,
    stalledReadBlobBytes: READ_BLOB_BYTES,
    halfOpenConnections: HALF_OPEN,
    stillOpenAtEnd: { halfOpen: openHalf, stalledConnections: openSessions },
    seconds: SECONDS,
    normalClientCalls: calls,
    normalClientFailures: failures,
    daemonRssMiB: { baseline: Math.round(baseline), peak: Math.round(peak), limit: RSS_LIMIT_MIB },
    ok,
  }),
);
console.log(
  `daemon under abuse: ${calls} normal calls, ${failures} failed; daemon RSS ${Math.round(baseline)} MiB at start, ` +
    `peak ${Math.round(peak)} MiB (limit ${RSS_LIMIT_MIB}) — ${ok ? "OK" : "FAILED"} (shared, busy machine: figures are noisy)`,
);
if (!ok) process.exitCode = 1;
