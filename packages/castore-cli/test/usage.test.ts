// The command line itself, as a user meets it: help, version, and every usage mistake (exit 2)
// or failure before a store is involved (exit 1), each with one clear line on stderr. These run
// the exported runCli in this process (parsing does not depend on the process); a few runs of the
// real executable check that exit statuses and streams reach the shell as runCli returns them.
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DUMMY_DIGEST } from "castore-fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSandbox, type RunResult, runCastore, type Sandbox } from "./helpers/cli.js";
import { runInProcess } from "./helpers/in-process.js";

const version = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
  .version;
const HELLO = DUMMY_DIGEST.toString();

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await makeSandbox();
});
afterAll(async () => {
  await sandbox.cleanup();
});

const run = (...args: string[]) => runInProcess(args, { env: sandbox.env });

/** A usage or early failure: nothing on stdout, exactly one line on stderr, no stack trace. */
function expectOneLineError(result: RunResult, code: number, message: RegExp): void {
  expect(result.code, result.stderr).toBe(code);
  expect(result.stdout.length).toBe(0);
  const lines = result.stderr.trimEnd().split("\n");
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe.concurrent("castore help and version", () => {
  it("--version prints the package version", async () => {
    for (const flag of ["--version", "-V"]) {
      const result = await run(flag);
      expect(result.code).toBe(0);
      expect(result.stdout.toString()).toBe(`castore ${version}\n`);
    }
  });

  it("--help lists the commands, the store addresses and the exit statuses", async () => {
    const result = await run("--help");
    expect(result.code).toBe(0);
    const text = result.stdout.toString();
    for (const word of ["daemon", "put", "cat", "stat", "memory://", "sqlite://", "grpc+unix://", "Exit status"]) {
      expect(text).toContain(word);
    }
    expect(result.stderr).toBe("");
  });

  it.each(["daemon", "put", "cat", "stat"])("%s: --help, -h and the help command print its usage", async (name) => {
    for (const args of [
      [name, "--help"],
      [name, "-h"],
      ["help", name],
      [name, "--log-level", "debug", "--help"],
    ]) {
      const result = await run(...args);
      expect(result.code, args.join(" ")).toBe(0);
      expect(result.stdout.toString()).toMatch(new RegExp(`^Usage: castore ${name}`));
    }
  });

  it("one '--' before the command is skipped (pnpm passes it on)", async () => {
    const result = await run("--", "--version");
    expect(result.code).toBe(0);
    expect(result.stdout.toString()).toBe(`castore ${version}\n`);
  });

  it("no arguments: usage on stderr, exit 2", async () => {
    const result = await run();
    expect(result.code).toBe(2);
    expect(result.stdout.length).toBe(0);
    expect(result.stderr).toMatch(/^Usage: castore/);
  });
});

describe.concurrent("usage errors exit 2 with one line", () => {
  it.each([
    [["frob"], /^castore: unknown command 'frob'/],
    [["--frob"], /^castore: unknown option '--frob'/],
    [["help", "frob"], /^castore help: unknown command 'frob'/],
    [["put", "--bogus"], /^castore put: unknown option '--bogus' \(see 'castore put --help'\)$/],
    [["put", "--blob-service-addr"], /^castore put: option '--blob-service-addr <value>' argument missing/],
    [["put", "--quiet=yes"], /^castore put: option '(-q, )?--quiet' does not take an argument/],
    [["put", "a", "b"], /^castore put: unexpected argument 'b'/],
    [["cat"], /^castore cat: missing DIGEST/],
    [["stat"], /^castore stat: missing DIGEST/],
    [["stat", HELLO, HELLO], /^castore stat: unexpected argument/],
    [["cat", HELLO, "--log-level", "loud"], /^castore cat: invalid --log-level "loud"/],
    [["daemon", "extra"], /^castore daemon: unexpected argument 'extra'/],
    [["daemon", "--listen-address", "8000"], /^castore daemon: invalid --listen-address "8000"/],
    [["daemon", "--listen-address", "127.0.0.1:99999"], /^castore daemon: invalid --listen-address/],
    [["daemon", "--listen-address", "unix:"], /^castore daemon: invalid --listen-address "unix:"/],
  ])("%j", async (args, message) => {
    expectOneLineError(await run(...args), 2, message);
  });

  it.each([
    "abc",
    "b3:abc",
    "b3:", // empty
    "0".repeat(63), // hex, one character short
    "0".repeat(66), // hex, 33 bytes
    "b3:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", // base64 of 31 bytes
    "sha256:0000",
  ])("malformed digest %j for cat and stat", async (digest) => {
    for (const command of ["cat", "stat"]) {
      expectOneLineError(await run(command, digest), 2, new RegExp(`^castore ${command}: invalid digest`));
    }
  });

  it.each([
    ["not a url", /is not a URL/],
    ["", /store address is empty/],
    ["frob://x", /unknown store scheme "frob:\/\/".*known schemes: .*memory:\/\//],
    ["memory://host", /memory addresses take no host/],
    ["memory:///path", /memory addresses take no path/],
    ["memory://?x=1", /unknown option "x"/],
    ["sqlite:///", /"\/" is a directory/],
  ])("malformed store address %j", async (address, message) => {
    for (const args of [
      ["stat", HELLO, "--blob-service-addr", address],
      ["cat", HELLO, `--blob-service-addr=${address}`],
      ["put", "-", "--blob-service-addr", address],
    ]) {
      expectOneLineError(await runInProcess(args, { env: sandbox.env, input: "x" }), 2, message);
    }
  });

  it("a malformed CASTORE_BLOB_SERVICE_ADDR is reported the same way", async () => {
    const env = { ...sandbox.env, CASTORE_BLOB_SERVICE_ADDR: "frob://" };
    expectOneLineError(await runInProcess(["stat", HELLO], { env }), 2, /^castore stat: unknown store scheme/);
  });

  it("the daemon refuses to be its own store", async () => {
    const socket = join(sandbox.dir, "self.sock");
    expectOneLineError(
      await run("daemon", "--listen-address", `unix:${socket}`, "--blob-service-addr", `grpc+unix://${socket}`),
      2,
      /is the daemon's own --listen-address/,
    );
    expectOneLineError(
      await run("daemon", "--listen-address", "127.0.0.1:8123", "--blob-service-addr", "grpc+http://127.0.0.1:8123"),
      2,
      /is the daemon's own --listen-address/,
    );
    // Another name for the same listener.
    expectOneLineError(
      await run("daemon", "--listen-address", "0.0.0.0:8124", "--blob-service-addr", "grpc+http://localhost:8124"),
      2,
      /is the daemon's own --listen-address/,
    );
  });

  it("the daemon refuses to be its own store inside a cache or a configuration file", async () => {
    const socket = join(sandbox.dir, "self-nested.sock");
    const near = encodeURIComponent("memory://");
    const far = encodeURIComponent(`grpc+unix://${socket}`);
    expectOneLineError(
      await run(
        "daemon",
        "--listen-address",
        `unix:${socket}`,
        "--blob-service-addr",
        `cache://?near=${near}&far=${far}`,
      ),
      2,
      /^castore daemon: grpc\+unix:\/\/.*self-nested\.sock \(in cache:\/\/.*\) is the daemon's own --listen-address \(see /,
    );
    const config = join(sandbox.dir, "self.toml");
    await writeFile(
      config,
      [
        "[blobservices.root]",
        'type = "cache"',
        'near = "memory://"',
        'far = "&team"',
        "[blobservices.team]",
        'type = "grpc+http"',
        'host = "127.0.0.1:8125"',
      ].join("\n"),
    );
    expectOneLineError(
      await run("daemon", "--listen-address", "127.0.0.1:8125", "--config", config),
      2,
      /^castore daemon: grpc\+http:\/\/127\.0\.0\.1:8125 \(in config .*self\.toml\) is the daemon's own --listen-address \(see /,
    );
  });
});

describe.concurrent("input failures exit 1 before touching a store", () => {
  it("put of a missing file", async () => {
    const result = await run("put", join(sandbox.dir, "missing.bin"));
    expectOneLineError(result, 1, /^castore put: cannot read .*missing\.bin: no such file or directory$/);
  });

  it("put of a directory", async () => {
    const dir = join(sandbox.dir, "a-directory");
    await mkdir(dir, { recursive: true });
    expectOneLineError(await run("put", dir), 1, /^castore put: cannot read .*a-directory: it is a directory$/);
  });

  it("with --log-level debug a failure also shows its stack trace", async () => {
    const result = await run("cat", "b3:abc", "--log-level", "debug");
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^castore cat: invalid digest/);
    expect(result.stderr).toMatch(/\n\s+at /);
  });
});

describe.concurrent("the executable passes runCli's result on to the shell", () => {
  const spawned = (...args: string[]) => runCastore(args, { env: sandbox.env });

  it("--version: exit 0, the version on stdout, nothing on stderr", async () => {
    const result = await spawned("--version");
    expect(result).toMatchObject({ code: 0, signal: null, stderr: "" });
    expect(result.stdout.toString()).toBe(`castore ${version}\n`);
  });

  it("a usage error: exit 2, one line on stderr, nothing on stdout", async () => {
    expectOneLineError(await spawned("put", "--bogus"), 2, /^castore put: unknown option '--bogus'/);
  });

  it("a failure: exit 1, one line on stderr, nothing on stdout", async () => {
    const result = await spawned("put", join(sandbox.dir, "missing.bin"));
    expectOneLineError(result, 1, /^castore put: cannot read .*missing\.bin: no such file or directory$/);
  });
});
