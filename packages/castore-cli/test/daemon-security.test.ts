// The daemon as a hostile local client or web page meets it: requests that used to end the process,
// other Host names, other users (umask 000), and TLS with a bearer token. Real processes, real sockets.
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { stat, writeFile } from "node:fs/promises";
import type { IncomingHttpHeaders } from "node:http2";
import * as net from "node:net";
import { join } from "node:path";
import { digestOf } from "castore-core";
import { HELLOWORLD } from "castore-fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSandbox, runCastore, type Sandbox } from "./helpers/cli.js";
import { type Daemon, startDaemon } from "./helpers/daemon.js";
import { healthCheck } from "./helpers/health.js";

let sandbox: Sandbox;
const daemons: Daemon[] = [];
beforeAll(async () => {
  sandbox = await makeSandbox();
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

/** Sends raw bytes to a TCP address (grpc+http://host:port) and returns all the daemon answers. */
function exchange(address: string, request: string): Promise<string> {
  const url = new URL(address.replace("grpc+", ""));
  return new Promise((resolve) => {
    const socket = net.connect(Number(url.port), url.hostname);
    let answer = "";
    socket.on("data", (chunk: Buffer) => {
      answer += chunk.toString("latin1");
    });
    socket.on("error", () => {});
    socket.once("close", () => resolve(answer));
    socket.end(request);
  });
}

const memory = ["--blob-service-addr", "memory://", "--listen-address", "127.0.0.1:0"];

describe("requests that used to end the process", () => {
  it("HTTP/1.0 without a Host (curl -0 -H 'Host:') is answered, and the daemon serves on", async () => {
    for (const hostFlag of [[], ["--allowed-host", "*"]]) {
      const served = await daemon([...memory, ...hostFlag]);
      for (const method of ["GET", "POST", "OPTIONS"]) {
        for (const path of [
          "/tvix.castore.v1.BlobService/Stat",
          "/tvix.castore.v1.BlobService/Put",
          "/grpc.health.v1.Health/Check",
        ]) {
          const answer = await exchange(
            served.address,
            `${method} ${path} HTTP/1.0\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`,
          );
          expect(answer, `${method} ${path}`).toMatch(hostFlag.length ? /^HTTP\/1\.[01] 4\d\d/ : /^HTTP\/1\.[01] 421/);
        }
      }
      expect(served.process.exitCode).toBeNull();
      expect((await healthCheck(served.address)).servingStatus).toBe(1);
      await served.stop();
    }
  });

  it("malformed Read requests are INVALID_ARGUMENT, logged as warnings at most ten a minute", async () => {
    const served = await daemon(memory);
    const { hostname, port } = new URL(served.address.replace("grpc+", ""));
    const http2 = await import("node:http2");
    const session = http2.connect(`http://${hostname}:${port}`);
    const statuses = await Promise.all(
      Array.from(
        { length: 30 },
        () =>
          new Promise<string>((resolve) => {
            const stream = session.request({
              ":method": "POST",
              ":path": "/tvix.castore.v1.BlobService/Read",
              "content-type": "application/grpc",
            });
            stream.on("trailers", (trailers) => resolve(String(trailers["grpc-status"])));
            stream.end(Buffer.from([0, 0, 0, 0, 3, 0x0a, 0x7f, 0x00]));
            stream.resume();
          }),
      ),
    );
    session.close();
    expect(new Set(statuses)).toEqual(new Set(["3"]));
    await served.stop();
    const lines = served
      .stderr()
      .split("\n")
      .filter((line) => line.includes('"bad request"'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(10);
    expect(served.stderr()).not.toContain('"level":"error"');
  });
});

describe("--max-calls", () => {
  it("refuses calls beyond it as UNAVAILABLE while health checks pass; 0 is a usage error", async () => {
    const served = await daemon([...memory, "--max-calls", "1"]);
    const http2 = await import("node:http2");
    const session = http2.connect(served.address.replace("grpc+", ""));
    session.on("error", () => {});
    const call = (method: string) =>
      session.request({
        ":method": "POST",
        ":path": `/tvix.castore.v1.BlobService/${method}`,
        "content-type": "application/grpc",
        te: "trailers",
      });
    // A Put that never ends holds the daemon's one call. The daemon takes a connection's requests in
    // the order they came, so the Stat after it on the same connection finds it in progress.
    const held = call("Put");
    held.on("error", () => {});
    held.write(Buffer.from([0, 0, 0, 0, 0]));
    const stat = call("Stat");
    stat.end();
    // Refused before any handler: a trailers-only answer, its status in the one header block.
    const [headers] = (await once(stat, "response")) as [IncomingHttpHeaders];
    expect(headers["grpc-status"]).toBe("14"); // UNAVAILABLE
    const hello = (await digestOf(HELLOWORLD.data)).toString();
    const byCli = await runCastore(["stat", hello, "--blob-service-addr", served.address], { env: sandbox.env });
    expect(byCli.code).not.toBe(0);
    expect(byCli.stderr).toMatch(/as many calls as it takes/);
    expect((await healthCheck(served.address)).servingStatus).toBe(1);
    session.destroy();
    await served.stop();

    const zero = await runCastore(["daemon", ...memory, "--max-calls", "0"], { env: sandbox.env });
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/invalid --max-calls "0"/);
  });
});

describe("the Host check", () => {
  it("refuses a Connect Put naming another host, stores nothing, and --allowed-host adds a name", async () => {
    const served = await daemon([...memory, "--allowed-host", "castore.internal"]);
    const port = new URL(served.address.replace("grpc+", "")).port;
    const put = (host: string) =>
      exchange(
        served.address,
        `POST /tvix.castore.v1.BlobService/Put HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/connect+json\r\n` +
          'Content-Length: 20\r\nConnection: close\r\n\r\n\u0000\u0000\u0000\u0000\u000f{"data":"aGk="}',
      );
    expect(await put(`evil.example:${port}`)).toMatch(/^HTTP\/1\.1 421/);
    const hi = (await digestOf(new TextEncoder().encode("hi"))).toString();
    const statHi = () => runCastore(["stat", hi, "--blob-service-addr", served.address], { env: sandbox.env });
    expect((await statHi()).code).toBe(1); // absent: the refused Put stored nothing
    expect(await put(`castore.internal:${port}`)).toMatch(/^HTTP\/1\.1 200/);
    expect((await statHi()).code).toBe(0);
    await served.stop();
  });

  it("--cors-allow-origin answers preflights from that origin only", async () => {
    const served = await daemon([...memory, "--cors-allow-origin", "https://app.example"]);
    const url = `${served.address.replace("grpc+", "")}/tvix.castore.v1.BlobService/Put`;
    const preflight = (origin: string) =>
      fetch(url, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST" } });
    const allowed = await preflight("https://app.example");
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect((await preflight("https://evil.example")).headers.get("access-control-allow-origin")).toBeNull();
    await served.stop();
  });
});

describe("private by default", () => {
  it("under umask 000 the socket is 0600 (--socket-mode widens it) and the default store directory 0700", async () => {
    const previous = process.umask(0o000);
    try {
      const env = { ...sandbox.env, XDG_DATA_HOME: join(sandbox.dir, "umask-data") };
      const socket = join(sandbox.dir, "private.sock");
      const served = await daemon(["--listen-address", `unix:${socket}`], env);
      expect((await stat(socket)).mode & 0o777).toBe(0o600);
      expect((await stat(join(sandbox.dir, "umask-data", "castore"))).mode & 0o777).toBe(0o700);
      await served.stop();
      const group = join(sandbox.dir, "group.sock");
      const shared = await daemon([
        "--listen-address",
        `unix:${group}`,
        "--socket-mode",
        "0660",
        "--blob-service-addr",
        "memory://",
      ]);
      expect((await stat(group)).mode & 0o777).toBe(0o660);
      await shared.stop();
    } finally {
      process.umask(previous);
    }
  });
});

describe("TLS and a bearer token", () => {
  it("serves TLS and requires the token on every call but health", async () => {
    const cert = join(sandbox.dir, "cert.pem");
    const key = join(sandbox.dir, "key.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-keyout",
        key,
        "-out",
        cert,
      ],
      { stdio: "ignore" },
    );
    const tokenFile = join(sandbox.dir, "token");
    await writeFile(tokenFile, "correct-horse\n", { mode: 0o600 });
    const served = await daemon([...memory, "--tls-cert", cert, "--tls-key", key, "--auth-token-file", tokenFile]);
    expect(served.address).toMatch(/^grpc\+https:\/\/127\.0\.0\.1:\d+$/);
    const env = { ...sandbox.env, NODE_EXTRA_CA_CERTS: cert };
    const via = ["--blob-service-addr", served.address];
    const data = HELLOWORLD.data;
    const refused = await runCastore(["put", "-", ...via], { env, input: data });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/bearer token/);
    const wrong = await runCastore(["put", "-", ...via], { env: { ...env, CASTORE_AUTH_TOKEN: "wrong" }, input: data });
    expect(wrong.code).not.toBe(0);
    const put = await runCastore(["put", "-", ...via], {
      env: { ...env, CASTORE_AUTH_TOKEN: "correct-horse" },
      input: data,
    });
    expect(put.stderr).toBe("");
    expect(put.stdout.toString()).toBe(`${HELLOWORLD.digest}\n`);
    const byFile = await runCastore(
      ["stat", HELLOWORLD.digest.toString(), "--blob-service-addr", `${served.address}?auth-token-file=${tokenFile}`],
      { env },
    );
    expect(byFile.code).toBe(0);
    await served.stop();
  });
});
