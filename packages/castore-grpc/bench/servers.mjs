// The server side of grpc.bench.mjs, in its own process (as a daemon would be): raw node:http2,
// Connect as shipped, and castore's server, each on loopback TCP and on a unix socket, all with
// the same HTTP/2 windows. castore's server fronts a synthetic BlobService that holds one big blob
// (a pseudo-random MiB repeated) and whose writer hashes and drops what it gets, so the figures
// are the transport's, plus the hashing castore's API requires. Arguments name the servers to start
// (raw, connect, castore), all three by default: the bench's memory pass forks one with castore's
// alone, so that its peak RSS is castore's.
import { mkdtempSync, rmSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { B3Digest, blake3 } from "castore-core";
import { BaseBlobService, BaseBlobWriter, ForwardSeeker } from "castore-core/backend";
import { pseudoRandomBytes } from "castore-fixtures";
import { processPeakRss } from "../../../scripts/process-memory.mjs";
import { openConnectionWindow, receiveSettings } from "../dist/flow-control.js";
import { BlobService as ConnectBlobService } from "../dist/gen/tvix/castore/v1/castore_pb.js";
import { serveBlobService } from "../dist/index.js";

const total = Number(process.env.BENCH_BYTES);
const MiB = 1 << 20;
const block = pseudoRandomBytes(MiB, 42);
const blocks = total / MiB;
const kinds = process.argv.length > 2 ? process.argv.slice(2) : ["raw", "connect", "castore"];

const hasher = (await blake3()).createHasher();
for (let i = 0; i < blocks; i++) hasher.update(block);
const bigDigest = B3Digest.fromBytes(hasher.digest());

class DroppingWriter extends BaseBlobWriter {
  writeChunk() {}
  commit() {}
  discard() {}
}

class SyntheticBlobService extends BaseBlobService {
  async hasImpl(digest) {
    return digest.equals(bigDigest);
  }
  async openReadImpl(digest) {
    if (!digest.equals(bigDigest)) return undefined;
    return new ForwardSeeker(
      digest,
      (async function* () {
        for (let i = 0; i < blocks; i++) yield block;
      })(),
    );
  }
  async openWriteImpl() {
    return new DroppingWriter();
  }
}

function h2Server(handler) {
  const server = http2.createServer({ settings: receiveSettings() }, handler);
  server.on("session", (session) => openConnectionWindow(session));
  return server;
}

/** Raw HTTP/2: /read streams `total` bytes in 1 MiB writes, /put counts what it receives. */
function rawServer() {
  const server = h2Server();
  server.on("stream", async (stream, headers) => {
    if (headers[":path"] === "/read") {
      stream.respond({ ":status": 200 });
      for (let i = 0; i < blocks; i++) {
        if (!stream.write(block)) await new Promise((resolve) => stream.once("drain", resolve));
      }
      stream.end();
    } else {
      let received = 0;
      for await (const chunk of stream) received += chunk.length;
      stream.respond({ ":status": 200 });
      stream.end(String(received));
    }
  });
  return server;
}

/** Connect as shipped (compression off, same windows), with the generated BlobService. */
function connectServer() {
  return h2Server(
    connectNodeAdapter({
      acceptCompression: [],
      routes(router) {
        router.service(ConnectBlobService, {
          async stat() {
            return {};
          },
          async *read() {
            for (let i = 0; i < blocks; i++) yield { data: block };
          },
          async put(requests) {
            let received = 0;
            for await (const request of requests) received += request.data.length;
            return { digest: new Uint8Array(32).fill(received % 256) };
          },
        });
      },
    }),
  );
}

function listen(server, where) {
  return new Promise((resolve) => server.listen(where, resolve));
}

const dir = mkdtempSync(join(tmpdir(), "castore-grpc-bench-"));
// Not left behind in tmp: the memory pass of the bench forks a server per transfer.
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
const addresses = {};
for (const [name, make] of [
  ["raw", rawServer],
  ["connect", connectServer],
]) {
  if (!kinds.includes(name)) continue;
  const tcp = make();
  await listen(tcp, { host: "127.0.0.1", port: 0 });
  const unix = make();
  await listen(unix, { path: join(dir, `${name}.sock`) });
  addresses[name] = { tcp: `http://127.0.0.1:${tcp.address().port}`, unix: join(dir, `${name}.sock`) };
}
if (kinds.includes("castore")) {
  const service = new SyntheticBlobService();
  const castoreTcp = await serveBlobService(service, { listen: { port: 0 } });
  const castoreUnix = await serveBlobService(service, { listen: { path: join(dir, "castore.sock") } });
  addresses.castore = { tcp: castoreTcp.address, unix: castoreUnix.address };
}

let peakRss = 0;
setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20).unref();

process.on("disconnect", () => process.exit(0)); // the bench is gone, whatever happened to it
process.on("message", (message) => {
  if (message === "reset-peak") {
    peakRss = process.memoryUsage.rss();
    process.send({ peakRss, cpu: process.cpuUsage() });
  } else if (message === "peak") {
    // peakRss since the last reset, sampled; processPeak since the process started (VmHWM).
    process.send({
      peakRss: Math.max(peakRss, process.memoryUsage.rss()),
      cpu: process.cpuUsage(),
      processPeak: processPeakRss(),
    });
  } else if (message === "exit") {
    process.exit(0);
  }
});
process.send({ addresses, digest: bigDigest.toString() });
