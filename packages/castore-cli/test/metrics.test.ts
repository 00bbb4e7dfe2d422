// castore daemon --metrics-address: a real daemon process serving a real SQLite file, called in each
// protocol by hand (so the exact calls are known), then scraped like Prometheus does.
import { join } from "node:path";
import { digestOf, putBlob } from "castore-core";
import { DUMMY_DIGEST, pseudoRandomBytes } from "castore-fixtures";
import { openSqliteBlobService } from "castore-sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSandbox, runCastore, type Sandbox } from "./helpers/cli.js";
import { type Daemon, startDaemon } from "./helpers/daemon.js";
import { corruptInFile } from "./helpers/files.js";
import { bytesField, frame, grpcCall, http1Request, originOf } from "./helpers/raw-calls.js";

let sandbox: Sandbox;
const daemons: Daemon[] = [];
beforeAll(async () => {
  sandbox = await makeSandbox();
});
afterAll(async () => {
  for (const daemon of daemons) if (daemon.process.exitCode === null) daemon.process.kill("SIGKILL");
  await sandbox.cleanup();
});

/** Starts a daemon with metrics on 127.0.0.1:0 and returns it with the URL it logged. */
async function daemonWithMetrics(args: string[]): Promise<{ daemon: Daemon; metricsUrl: string }> {
  const daemon = await startDaemon([...args, "--metrics-address", "127.0.0.1:0"], sandbox.env);
  daemons.push(daemon);
  await daemon.waitForLog('"metrics listening"');
  const url = /"msg":"metrics listening","url":"([^"]+)"/.exec(daemon.stderr())?.[1];
  if (!url) throw new Error(`no metrics URL in:\n${daemon.stderr()}`);
  return { daemon, metricsUrl: url };
}

type Samples = Map<string, number>;

/** Parses the Prometheus text format into `name{labels}` → value. */
function parseSamples(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

function sum(samples: Samples, prefix: string): number {
  let total = 0;
  for (const [key, value] of samples) if (key.startsWith(prefix)) total += value;
  return total;
}

/**
 * Scrapes until `ready` holds: a call is counted when the daemon's side of it has closed, which
 * may come a moment after the client has its answer.
 */
async function scrapeWhen(url: string, ready: (samples: Samples) => boolean): Promise<Samples> {
  for (;;) {
    const answer = await http1Request(url);
    expect(answer.status).toBe(200);
    const samples = parseSamples(answer.body.toString("utf8"));
    if (ready(samples)) return samples;
  }
}

const BLOB_SERVICE = 'service="tvix.castore.v1.BlobService"';
const calls = (method: string, protocol: string, code: string) =>
  `castore_calls_total{${BLOB_SERVICE},method="${method}",protocol="${protocol}",code="${code}"}`;

describe("castore daemon --metrics-address", () => {
  it("counts a known sequence of calls exactly: puts, reads, a not-found, an integrity failure, a refused host", async () => {
    // A store with one blob whose bytes are then damaged in the file.
    const file = join(sandbox.dir, "metrics.sqlite");
    const damaged = pseudoRandomBytes(3000, 1601);
    const store = await openSqliteBlobService(file);
    const damagedDigest = await putBlob(store, damaged);
    await store.close();
    expect(await corruptInFile(file, damaged.subarray(1000, 1032))).toBe(true);
    while (await corruptInFile(file, damaged.subarray(1000, 1032)));

    const { daemon, metricsUrl } = await daemonWithMetrics([
      "--blob-service-addr",
      `sqlite://${file}`,
      "--listen-address",
      "127.0.0.1:0",
      "--log-level",
      "debug",
    ]);
    const blob = pseudoRandomBytes(1000, 1602);
    const digest = await digestOf(blob);
    const read = (bytes: Uint8Array) =>
      grpcCall(daemon.address, "/tvix.castore.v1.BlobService/Read", [bytesField(bytes)]);

    // 2 Puts and 3 Reads of one blob, over gRPC.
    for (let i = 0; i < 2; i++) {
      const put = await grpcCall(daemon.address, "/tvix.castore.v1.BlobService/Put", [bytesField(blob)]);
      expect(put.status).toBe("0");
    }
    for (let i = 0; i < 3; i++) expect((await read(digest.bytes)).status).toBe("0");
    // A Read of an absent blob (NOT_FOUND) and of the damaged one (DATA_LOSS).
    expect((await read(DUMMY_DIGEST.bytes)).status).toBe("5");
    expect((await read(damagedDigest.bytes)).status).toBe("15");
    // A Stat of an absent blob over the Connect protocol (JSON), one of the stored blob over gRPC-Web.
    const origin = originOf(daemon.address);
    const connectStat = await http1Request(`${origin}/tvix.castore.v1.BlobService/Stat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ digest: Buffer.from(DUMMY_DIGEST.bytes).toString("base64") }),
    });
    expect(connectStat.status).toBe(404);
    const webStat = await http1Request(`${origin}/tvix.castore.v1.BlobService/Stat`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
      body: frame(bytesField(digest.bytes)),
    });
    expect(webStat.status).toBe(200);
    expect(webStat.body.toString("latin1")).toMatch(/grpc-status: ?0\r\n/);
    // A request for a host the daemon does not serve: refused before any handler.
    const refused = await http1Request(`${origin}/tvix.castore.v1.BlobService/Stat`, {
      method: "POST",
      headers: { host: "rebound.example:80", "content-type": "application/json" },
      body: "{}",
    });
    expect(refused.status).toBe(421);

    const samples = await scrapeWhen(metricsUrl, (s) => sum(s, "castore_calls_total{") === 9);
    expect(samples.get(calls("Put", "grpc", "OK"))).toBe(2);
    expect(samples.get(calls("Read", "grpc", "OK"))).toBe(3);
    expect(samples.get(calls("Read", "grpc", "NOT_FOUND"))).toBe(1);
    expect(samples.get(calls("Read", "grpc", "DATA_LOSS"))).toBe(1);
    expect(samples.get(calls("Stat", "connect", "NOT_FOUND"))).toBe(1);
    expect(samples.get(calls("Stat", "grpc-web", "OK"))).toBe(1);
    expect(sum(samples, "castore_calls_total{")).toBe(9);
    expect(samples.get(`castore_call_duration_seconds_count{${BLOB_SERVICE},method="Read"}`)).toBe(5);
    expect(samples.get(`castore_call_duration_seconds_count{${BLOB_SERVICE},method="Put"}`)).toBe(2);
    expect(samples.get(`castore_received_bytes_total{${BLOB_SERVICE},method="Put"}`)).toBe(2000);
    expect(samples.get(`castore_sent_bytes_total{${BLOB_SERVICE},method="Read"}`)).toBe(3000);
    expect(samples.get("castore_blobs_written_total")).toBe(2);
    expect(samples.get("castore_blob_bytes_written_total")).toBe(2000);
    // The SQLite store's own figures: the damaged blob and the one put twice, stored once.
    expect(samples.get('castore_store_blobs{tier="root"}')).toBe(2);
    expect(samples.get('castore_store_bytes{tier="root"}')).toBe(4000);
    expect(samples.get('castore_chunks_written_total{tier="root"}')).toBe(1);
    expect(samples.get('castore_chunks_deduplicated_total{tier="root"}')).toBe(1);
    expect(samples.get('castore_store_evictions_total{tier="root"}')).toBe(0);
    expect(samples.get('castore_integrity_failures_total{store="sqlite"}')).toBe(1);
    expect(samples.get('castore_refused_requests_total{reason="host"}')).toBe(1);
    expect(samples.get('castore_refused_requests_total{reason="auth"}')).toBe(0);
    expect(sum(samples, "castore_calls_in_flight{")).toBe(0);
    // Seven gRPC calls on a connection each, three HTTP/1.1 requests on a connection each.
    expect(samples.get("castore_connections_total")).toBe(10);
    // prom-client's process metrics.
    expect(samples.get("process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(samples.get("nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
    expect(samples.get("nodejs_eventloop_lag_seconds")).toBeGreaterThanOrEqual(0);

    // Every log line of a call carries its id: the corrupt blob's error and that call's summary agree.
    const lines = daemon
      .stderr()
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const corrupt = lines.find((line) => line.msg === "corrupt blob");
    const failedRead = lines.find((line) => line.msg === "call" && line.status === "DATA_LOSS");
    expect(corrupt?.call).toMatch(/^[0-9a-f]{8}-[0-9a-f]+$/);
    expect(failedRead?.call).toBe(corrupt?.call);
    const callIds = new Set(lines.filter((line) => line.msg === "call").map((line) => line.call));
    expect(callIds.size).toBe(9);
    await daemon.stop();
  });

  it("shows the store's statistics: a cache's hits, misses and fills, its near tier's chunks and size", async () => {
    // Far: a SQLite file holding one chunked blob. Near: memory, empty when the daemon starts.
    const farFile = join(sandbox.dir, "far.sqlite");
    const farBlob = pseudoRandomBytes(2 << 20, 1603);
    const far = await openSqliteBlobService(farFile);
    const farDigest = await putBlob(far, farBlob);
    const chunkCount = (await far.chunks(farDigest))?.length ?? 0;
    await far.close();
    expect(chunkCount).toBeGreaterThan(1);
    const near = encodeURIComponent("memory://");
    const farAddress = encodeURIComponent(`sqlite://${farFile}`);
    const { daemon, metricsUrl } = await daemonWithMetrics([
      "--blob-service-addr",
      `cache://?near=${near}&far=${farAddress}`,
      "--listen-address",
      "127.0.0.1:0",
    ]);
    const read = () => grpcCall(daemon.address, "/tvix.castore.v1.BlobService/Read", [bytesField(farDigest.bytes)]);
    const sample = (s: Samples, name: string, tier: string) => s.get(`${name}{tier="${tier}"}`);

    // The first read misses every chunk and fills near with it; once it has all of them, the cache
    // stores the whole blob near too (in the background: waited for here, it is one more fill).
    expect((await read()).status).toBe("0");
    await scrapeWhen(metricsUrl, (s) => sample(s, "castore_cache_fills_total", "root") === chunkCount + 1);
    // The second read is one hit: near has the whole blob.
    expect((await read()).status).toBe("0");
    // A small blob put twice: near stores it once and deduplicates the second.
    const small = pseudoRandomBytes(1000, 1604);
    for (let i = 0; i < 2; i++) {
      expect((await grpcCall(daemon.address, "/tvix.castore.v1.BlobService/Put", [bytesField(small)])).status).toBe(
        "0",
      );
    }

    const samples = await scrapeWhen(metricsUrl, (s) => sum(s, "castore_calls_total{") === 4);
    expect(sample(samples, "castore_cache_hits_total", "root")).toBe(1);
    expect(sample(samples, "castore_cache_misses_total", "root")).toBe(chunkCount);
    expect(sample(samples, "castore_cache_fills_total", "root")).toBe(chunkCount + 1);
    // Near wrote each filled chunk and the small blob once; storing the whole blob from its chunks
    // and the second put found everything already there.
    expect(sample(samples, "castore_chunks_written_total", "near")).toBe(chunkCount + 1);
    expect(sample(samples, "castore_chunks_deduplicated_total", "near")).toBe(chunkCount + 1);
    // Near holds the chunks (each a blob of its own), the whole blob and the small one.
    expect(sample(samples, "castore_store_blobs", "near")).toBe(chunkCount + 2);
    expect(sample(samples, "castore_store_bytes", "near")).toBe(farBlob.length + small.length);
    // The cache itself holds nothing of its own: no size at its root.
    expect(sample(samples, "castore_store_bytes", "root")).toBeUndefined();
    await daemon.stop();
  });

  it("serves GET and HEAD /metrics only, to the hosts the daemon serves, and never falls over", async () => {
    const { daemon, metricsUrl } = await daemonWithMetrics([
      "--blob-service-addr",
      "memory://",
      "--listen-address",
      "127.0.0.1:0",
    ]);
    const { origin } = new URL(metricsUrl);
    expect((await http1Request(metricsUrl)).headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    const head = await http1Request(metricsUrl, { method: "HEAD" });
    expect([head.status, head.body.length]).toEqual([200, 0]);
    expect((await http1Request(`${metricsUrl}?name[]=x`)).status).toBe(200);
    const post = await http1Request(metricsUrl, { method: "POST", body: "x".repeat(100_000) });
    expect([post.status, post.headers.allow]).toEqual([405, "GET, HEAD"]);
    expect((await http1Request(`${origin}/`)).status).toBe(404);
    expect((await http1Request(`${origin}/tvix.castore.v1.BlobService/Stat`, { method: "POST" })).status).toBe(404);
    expect((await http1Request(metricsUrl, { headers: { host: "rebound.example" } })).status).toBe(421);
    expect(
      (await http1Request(metricsUrl, { headers: { host: `localhost:${new URL(metricsUrl).port}` } })).status,
    ).toBe(200);
    // Garbage instead of HTTP: the connection is closed, the daemon goes on.
    const net = await import("node:net");
    await new Promise<void>((resolve) => {
      const socket = net.connect(Number(new URL(metricsUrl).port), "127.0.0.1");
      socket.on("error", () => {});
      socket.on("close", () => resolve());
      socket.end("\x00\x01garbage\r\n\r\n");
    });
    expect((await http1Request(metricsUrl)).status).toBe(200);
    expect(daemon.process.exitCode).toBeNull();
    await daemon.stop();
  });

  it("--allowed-host applies to the metrics listener too", async () => {
    const { daemon, metricsUrl } = await daemonWithMetrics([
      "--blob-service-addr",
      "memory://",
      "--listen-address",
      "127.0.0.1:0",
      "--allowed-host",
      "metrics.internal",
    ]);
    expect((await http1Request(metricsUrl, { headers: { host: "metrics.internal:9000" } })).status).toBe(200);
    expect((await http1Request(metricsUrl, { headers: { host: "other.internal" } })).status).toBe(421);
    await daemon.stop();
  });

  it("a malformed --metrics-address is a usage error, as --listen-address's", async () => {
    for (const address of ["9100", "localhost", "[::1]", "host:99999", "unix:"]) {
      const result = await runCastore(["daemon", "--blob-service-addr", "memory://", "--metrics-address", address], {
        env: sandbox.env,
      });
      expect(result.code, address).toBe(2);
      expect(result.stderr).toContain(`invalid --metrics-address ${JSON.stringify(address)}`);
    }
  });
});
