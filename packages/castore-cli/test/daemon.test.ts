// The daemon as a real process on a real unix socket and a real TCP port, with clients as separate
// processes: round trips, health, startup and shutdown, and every failure a user can run into.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { digestOf } from "castore-core";
import { BLOB_B, BLOB_C, DUMMY_DIGEST, HELLOWORLD } from "castore-fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, makeSandbox, type RunResult, runCastore, type Sandbox, spawnCastore } from "./helpers/cli.js";
import { type Daemon, startDaemon } from "./helpers/daemon.js";
import { corruptInStore, FILE_FIXTURES, writeFixtureFiles } from "./helpers/files.js";
import { healthCheck } from "./helpers/health.js";

let sandbox: Sandbox;
let files: Record<string, string> = {};
const fixtures = FILE_FIXTURES;
const daemons: Daemon[] = [];

beforeAll(async () => {
  sandbox = await makeSandbox();
  files = await writeFixtureFiles(sandbox.dir);
});
afterAll(async () => {
  for (const daemon of daemons) if (daemon.process.exitCode === null) daemon.process.kill("SIGKILL");
  await sandbox.cleanup();
});

async function daemon(args: string[], env = sandbox.env): Promise<Daemon> {
  const started = await startDaemon(args, env);
  daemons.push(started);
  return started;
}

async function storeDir(name: string): Promise<{ dir: string; address: string }> {
  const dir = join(sandbox.dir, name);
  await mkdir(dir, { recursive: true });
  return { dir, address: `sqlite://${dir}/blobs.sqlite` };
}

const run = (args: string[], input?: Uint8Array | string) => runCastore(args, { env: sandbox.env, input });

/**
 * put every fixture through `address`, cat each back, stat present and absent. The clients of each
 * step run at the same time, as clients of a daemon do.
 */
async function roundTrip(address: string): Promise<void> {
  const via = ["--blob-service-addr", address];
  const puts = await Promise.all(fixtures.map((fixture) => run(["put", files[fixture.name] as string, ...via])));
  fixtures.forEach((fixture, i) => {
    const put = puts[i] as RunResult;
    expect(put.stderr).toBe("");
    expect(put.code).toBe(0);
    expect(put.stdout.toString()).toBe(`${fixture.digest}\n`);
  });
  const cats = await Promise.all(fixtures.map((fixture) => run(["cat", fixture.digest.toString(), ...via])));
  fixtures.forEach((fixture, i) => {
    const cat = cats[i] as RunResult;
    expect(cat.stderr).toBe("");
    expect(cat.code).toBe(0);
    expect(Buffer.compare(cat.stdout, fixture.data)).toBe(0);
  });
  const [present, absent, catAbsent] = await Promise.all([
    run(["stat", BLOB_C.digest.toHex(), ...via]),
    run(["stat", DUMMY_DIGEST.toString(), ...via]),
    run(["cat", DUMMY_DIGEST.toString(), ...via]),
  ]);
  expect(present.code).toBe(0);
  expect(present.stdout.toString()).toBe(`${BLOB_C.digest} present\n`);
  expect(absent.code).toBe(1);
  expect(absent.stdout.toString()).toBe(`${DUMMY_DIGEST} absent\n`);
  expect(catAbsent.code).toBe(1);
  expect(catAbsent.stdout.length).toBe(0);
  expect(catAbsent.stderr).toMatch(/^castore cat: .*not found/);
  expect(catAbsent.stderr.trimEnd().split("\n")).toHaveLength(1);
}

function expectJsonLogs(stderr: string): Array<Record<string, unknown>> {
  const lines = stderr.trimEnd().split("\n").filter(Boolean);
  return lines.map((line) => {
    const entry = JSON.parse(line) as Record<string, unknown>;
    expect(entry).toHaveProperty("time");
    expect(entry).toHaveProperty("level");
    expect(entry).toHaveProperty("msg");
    return entry;
  });
}

describe("a daemon on a unix socket", () => {
  it("serves put, cat and stat from its SQLite store, and shuts down cleanly on SIGINT", async () => {
    const store = await storeDir("unix-store");
    const socket = join(sandbox.dir, "unix.sock");
    const d = await daemon(["--listen-address", `unix:${socket}`, "--blob-service-addr", store.address]);
    expect(d.startupLine).toBe(`castore daemon listening on grpc+unix://${socket} (store ${store.address})`);
    await roundTrip(d.address);
    expect(await healthCheck(d.address)).toEqual({ servingStatus: 1, grpcStatus: "0" });

    expect(await d.stop("SIGINT")).toEqual({ code: 0, signal: null });
    const messages = expectJsonLogs(d.stderr()).map((entry) => entry.msg);
    expect(messages).toEqual(["listening", "shutting down", "stopped"]);
    expect(existsSync(socket)).toBe(false);
    // The blobs went into the daemon's store file.
    expect((await run(["stat", BLOB_C.digest.toString(), "--blob-service-addr", store.address])).code).toBe(0);
  });

  it("replaces a stale socket file, but refuses a live socket and any other file", async () => {
    const socket = join(sandbox.dir, "stale.sock");
    // Another process listening on the socket; killed with SIGKILL it leaves the socket file behind.
    const other = spawn(process.execPath, [
      "-e",
      `require("node:net").createServer().listen(${JSON.stringify(socket)}, () => console.log("up"))`,
    ]);
    await new Promise((resolve) => other.stdout.once("data", resolve));
    const live = await run(["daemon", "--listen-address", `unix:${socket}`, "--blob-service-addr", "memory://"]);
    expect(live.code).toBe(1);
    expect(live.stderr).toMatch(/^castore daemon: cannot listen: address unix:.*stale\.sock is already in use/);
    other.kill("SIGKILL");
    await new Promise((resolve) => other.once("exit", resolve));
    expect(existsSync(socket)).toBe(true);
    const d = await daemon(["--listen-address", `unix:${socket}`, "--blob-service-addr", "memory://"]);
    expect((await run(["stat", DUMMY_DIGEST.toString(), "--blob-service-addr", d.address])).code).toBe(1);
    await d.stop();

    const nowhere = await run([
      "daemon",
      "--listen-address",
      `unix:${sandbox.dir}/nope/d.sock`,
      "--blob-service-addr",
      "memory://",
    ]);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(
      /^castore daemon: cannot listen: address unix:.*nope\/d\.sock is in a directory that does not exist\n$/,
    );

    const notASocket = join(sandbox.dir, "precious.txt");
    await writeFile(notASocket, "keep me");
    const refused = await run(["daemon", "--listen-address", `unix:${notASocket}`, "--blob-service-addr", "memory://"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^castore daemon: cannot listen: unix:.*precious\.txt exists and is not a socket/);
    expect(existsSync(notASocket)).toBe(true);
  });
});

describe("a daemon on TCP", () => {
  it("binds a free port for :0, prints it, and serves clients and health checks", async () => {
    const d = await daemon([
      "--listen-address",
      "127.0.0.1:0",
      "--blob-service-addr",
      "memory://",
      "--log-level",
      "debug",
    ]);
    expect(d.address).toMatch(/^grpc\+http:\/\/127\.0\.0\.1:\d+$/);
    expect(d.address).not.toMatch(/:0$/);
    await roundTrip(d.address);
    expect(await healthCheck(d.address)).toEqual({ servingStatus: 1, grpcStatus: "0" });
    // Browsers use the Connect protocol over HTTP/1.1 on the same port: a unary Stat.
    const connectStat = (digest: Uint8Array) =>
      fetch(`${d.address.replace("grpc+http", "http")}/tvix.castore.v1.BlobService/Stat`, {
        method: "POST",
        headers: { "content-type": "application/proto" },
        body: Buffer.concat([Buffer.from([0x0a, 32]), digest]), // StatBlobRequest { digest }
      });
    expect((await connectStat(BLOB_C.digest.bytes)).status).toBe(200);
    const absent = await connectStat(DUMMY_DIGEST.bytes);
    expect(absent.status).toBe(404);
    expect(await absent.json()).toMatchObject({ code: "not_found" });
    expect(await d.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    const logs = expectJsonLogs(d.stderr());
    // debug logs every request: the stored blobs with their digests
    const stored = logs.filter((entry) => entry.msg === "stored").map((entry) => entry.digest);
    expect(stored).toEqual(expect.arrayContaining(fixtures.map((f) => f.digest.toString())));
  });

  it("a taken port is one clear line and a non-zero exit", async () => {
    const first = await daemon(["--listen-address", "127.0.0.1:0", "--blob-service-addr", "memory://"]);
    const port = new URL(first.address.replace("grpc+http", "http")).port;
    const second = await run(["daemon", "--listen-address", `127.0.0.1:${port}`, "--blob-service-addr", "memory://"]);
    expect(second.code).toBe(1);
    expect(second.stdout.length).toBe(0);
    expect(second.stderr).toBe(
      `castore daemon: cannot listen: address 127.0.0.1:${port} is already in use (is another castore daemon running?)\n`,
    );
    await first.stop();
  });

  it("with no store flag it serves the default store, creating its directory", async () => {
    const d = await daemon(["--listen-address", "127.0.0.1:0"]);
    const path = join(sandbox.dir, "data", "castore", "blobs.sqlite");
    expect(d.startupLine).toContain(`(store sqlite://${path})`);
    const put = await run(["put", files.HELLOWORLD as string, "--blob-service-addr", d.address]);
    expect(put.stdout.toString()).toBe(`${HELLOWORLD.digest}\n`);
    await d.stop();
    // The embedded store (no daemon) now has it: same file.
    expect((await run(["stat", HELLOWORLD.digest.toString()])).code).toBe(0);
  });

  it("an unusable store is one clear line and a non-zero exit", async () => {
    const missingDir = await run([
      "daemon",
      "--listen-address",
      "127.0.0.1:0",
      "--blob-service-addr",
      `sqlite://${sandbox.dir}/nope/blobs.sqlite`,
    ]);
    expect(missingDir.code).not.toBe(0);
    expect(missingDir.stderr).toMatch(/^castore daemon: .*nope.* does not exist\n$/);
    const notes = join(sandbox.dir, "notes.txt");
    await writeFile(notes, "not a database\n".repeat(200));
    const stranger = await run([
      "daemon",
      "--listen-address",
      "127.0.0.1:0",
      "--blob-service-addr",
      `sqlite://${notes}`,
    ]);
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toMatch(/^castore daemon: .*notes\.txt.*\n$/);
    expect(stranger.stdout.length).toBe(0);
  });
});

describe("clients of a daemon", () => {
  it("an address where nothing listens: one line, exit 1", async () => {
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, "127.0.0.1", resolve));
    const { port } = free.address() as { port: number };
    await new Promise<void>((resolve) => free.close(() => resolve()));
    for (const args of [
      ["stat", DUMMY_DIGEST.toString()],
      ["cat", DUMMY_DIGEST.toString()],
      ["put", "-"],
    ]) {
      const result = await run([...args, "--blob-service-addr", `grpc+http://127.0.0.1:${port}`], "data");
      expect(result.code, result.stderr).toBe(1);
      expect(result.stdout.length).toBe(0);
      expect(result.stderr.trimEnd().split("\n"), result.stderr).toHaveLength(1);
      expect(result.stderr).toMatch(new RegExp(`^castore ${args[0]}: `));
    }
  });

  it("cat of a corrupt blob through the daemon: integrity error, exit 1, output never complete", async () => {
    const store = await storeDir("corrupt-store");
    const data = new Uint8Array(2 * 1024 * 1024 + 17).map((_, i) => (i * 13) & 0xff);
    const needle = new TextEncoder().encode("<<damage me>>");
    data.set(needle, 1_500_000);
    const put = await run(["put", "-", "--blob-service-addr", store.address], data);
    const digest = put.stdout.toString().trim();
    expect(await corruptInStore(join(store.dir, "blobs.sqlite"), needle)).toBe(true);

    const d = await daemon(["--listen-address", "127.0.0.1:0", "--blob-service-addr", store.address]);
    const cat = await run(["cat", digest, "--blob-service-addr", d.address]);
    expect(cat.code).toBe(1);
    expect(cat.stderr).toMatch(/^castore cat: integrity error: /);
    expect(cat.stdout.length).toBeLessThan(data.length);
    expect(Buffer.compare(cat.stdout, data.subarray(0, cat.stdout.length))).toBe(0);
    await d.stop();
    expect(d.stderr()).toContain('"level":"error","msg":"corrupt blob"');
  });
});

describe("SIGTERM during an upload", () => {
  it("the daemon exits cleanly, the partial blob is absent, earlier blobs are intact on restart", async () => {
    const store = await storeDir("sigterm-store");
    const socket = join(sandbox.dir, "sigterm.sock");
    const args = ["--listen-address", `unix:${socket}`, "--blob-service-addr", store.address, "--log-level", "debug"];
    const first = await daemon(args);
    for (const fixture of [HELLOWORLD, BLOB_B]) {
      const put = await run(["put", files[fixture.name] as string, "--blob-service-addr", first.address]);
      expect(put.stdout.toString()).toBe(`${fixture.digest}\n`);
    }

    // An upload that is still sending when the daemon is told to stop.
    const partial = BLOB_C.data.subarray(0, 3 * 1024 * 1024);
    const client = spawnCastore(["put", "-", "--blob-service-addr", first.address], sandbox.env);
    const clientDone = collect(client, "keep-open");
    client.stdin?.write(partial);
    // Bytes of the two puts above, then of this one: the upload is under way, the client holds it open.
    await first.waitForLog('"upload receiving"', 3);

    // The stop request arrives twice, as it does with `kill %1` on `npm start &` (the process group
    // and the launcher both pass it on): the second must not cut the graceful shutdown short.
    first.process.kill("SIGTERM");
    await first.waitForLog('"shutting down"');
    expect(await first.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    const logs = expectJsonLogs(first.stderr());
    expect(logs.map((entry) => entry.msg)).toEqual(
      expect.arrayContaining(["shutting down", "upload aborted, nothing stored", "stopped"]),
    );
    // The shutdown aborted the upload itself, at once, rather than sitting out its grace period
    // on a client that is still connected (the server would then cancel the call instead).
    const aborted = logs.find((entry) => entry.msg === "upload aborted, nothing stored");
    expect(JSON.stringify(aborted)).toContain("the daemon is shutting down");
    // The client learns that its upload failed (at the latest when it sends the rest).
    client.stdin?.end(BLOB_C.data.subarray(partial.length));
    const clientResult = await clientDone;
    expect(clientResult.code).toBe(1);
    expect(clientResult.stdout.length).toBe(0);
    expect(clientResult.stderr).toMatch(/^castore put: /);

    const second = await daemon(args);
    const via = ["--blob-service-addr", second.address];
    for (const digest of [await digestOf(partial), BLOB_C.digest]) {
      expect((await run(["stat", digest.toString(), ...via])).code).toBe(1);
    }
    for (const fixture of [HELLOWORLD, BLOB_B]) {
      const cat = await run(["cat", fixture.digest.toString(), ...via]);
      expect(cat.code).toBe(0);
      expect(Buffer.compare(cat.stdout, fixture.data)).toBe(0);
    }
    await second.stop();
  });
});
