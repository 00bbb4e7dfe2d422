// put / cat / stat against the embedded default store (SQLite under XDG_DATA_HOME), as separate
// real processes sharing one database file, plus the failure paths of a local store.
import { type ChildProcess, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BLOB_B, BLOB_C, DUMMY_DIGEST, HELLOWORLD } from "castore-fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, makeSandbox, runCastore, type Sandbox, spawnCastore } from "./helpers/cli.js";
import { corruptInStore, FILE_FIXTURES, writeFixtureFiles } from "./helpers/files.js";

let sandbox: Sandbox;
let files: Record<string, string> = {};
const fixtures = FILE_FIXTURES;

beforeAll(async () => {
  sandbox = await makeSandbox();
  files = await writeFixtureFiles(sandbox.dir);
});
afterAll(async () => {
  await sandbox.cleanup();
});

const run = (args: string[], input?: Uint8Array | string, env = sandbox.env) => runCastore(args, { env, input });
const storeFile = () => join(sandbox.dir, "data", "castore", "blobs.sqlite");

describe("the default embedded store", () => {
  it("put prints each file's digest; the store is created under XDG_DATA_HOME", async () => {
    for (const fixture of fixtures) {
      const result = await run(["put", files[fixture.name] as string]);
      expect(result.stderr).toBe(""); // no progress: stderr is a pipe
      expect(result.code).toBe(0);
      expect(result.stdout.toString()).toBe(`${fixture.digest}\n`);
    }
    expect(existsSync(storeFile())).toBe(true);
  });

  it("put stores a file of several read buffers, and a named pipe, byte for byte", async () => {
    const { digestOf } = await import("castore-core");
    // Three whole 1 MiB reads and a partial one: the pieces come from two buffers in turn.
    const big = randomBytes(3 * (1 << 20) + 123);
    const bigFile = join(sandbox.dir, "big.bin");
    await writeFile(bigFile, big);
    const fromFile = await run(["put", bigFile]);
    expect(fromFile.stderr).toBe("");
    expect(fromFile.stdout.toString()).toBe(`${await digestOf(big)}\n`);
    expect(Buffer.compare((await run(["cat", fromFile.stdout.toString().trim()])).stdout, big)).toBe(0);

    const fifo = join(sandbox.dir, "pipe");
    execFileSync("mkfifo", [fifo]);
    const piped = big.subarray(0, 1_500_000);
    const putting = run(["put", fifo]);
    await writeFile(fifo, piped); // opens once the command has opened its end
    const fromPipe = await putting;
    expect(fromPipe.stderr).toBe("");
    expect(fromPipe.stdout.toString()).toBe(`${await digestOf(piped)}\n`);
  });

  it("cat writes each blob back byte for byte, by b3: or hex digest", async () => {
    for (const fixture of fixtures) {
      for (const digest of [fixture.digest.toString(), fixture.digest.toHex()]) {
        const result = await run(["cat", digest]);
        expect(result.stderr).toBe("");
        expect(result.code).toBe(0);
        expect(Buffer.compare(result.stdout, fixture.data)).toBe(0);
      }
    }
  });

  it("stat says present (exit 0) or absent (exit 1)", async () => {
    const present = await run(["stat", BLOB_B.digest.toHex()]);
    expect(present).toMatchObject({ code: 0, stderr: "" });
    expect(present.stdout.toString()).toBe(`${BLOB_B.digest} present\n`);
    const absent = await run(["stat", DUMMY_DIGEST.toString()]);
    expect(absent).toMatchObject({ code: 1, stderr: "" });
    expect(absent.stdout.toString()).toBe(`${DUMMY_DIGEST} absent\n`);
  });

  it("cat of an absent blob: message on stderr, nothing on stdout, exit 1", async () => {
    const result = await run(["cat", DUMMY_DIGEST.toString()]);
    expect(result.code).toBe(1);
    expect(result.stdout.length).toBe(0);
    expect(result.stderr).toBe(`castore cat: blob ${DUMMY_DIGEST} not found\n`);
  });

  it("put reads stdin for '-' and for no FILE; storing again is harmless", async () => {
    for (const args of [["put", "-"], ["put"], ["put", "--quiet"]]) {
      const result = await run(args, BLOB_C.data);
      expect(result).toMatchObject({ code: 0, stderr: "" });
      expect(result.stdout.toString()).toBe(`${BLOB_C.digest}\n`);
    }
  });

  it("falls back to ~/.local/share when XDG_DATA_HOME is unset", async () => {
    const env = { ...sandbox.env, XDG_DATA_HOME: undefined };
    const put = await run(["put", "-"], "in the home store", env);
    expect(put.code).toBe(0);
    expect(existsSync(join(sandbox.dir, "home", ".local", "share", "castore", "blobs.sqlite"))).toBe(true);
    const digest = put.stdout.toString().trim();
    expect((await run(["cat", digest], undefined, env)).stdout.toString()).toBe("in the home store");
    expect((await run(["stat", digest])).code).toBe(1); // not in the XDG store
  });
});

describe("choosing another store", () => {
  it("--blob-service-addr and CASTORE_BLOB_SERVICE_ADDR pick it; the flag wins", async () => {
    const dir = join(sandbox.dir, "other");
    await mkdir(dir);
    const other = `sqlite://${dir}/blobs.sqlite`;
    const put = await run(["put", "-", "--blob-service-addr", other], "elsewhere");
    expect(put.code).toBe(0);
    const digest = put.stdout.toString().trim();
    expect((await run(["stat", digest])).code).toBe(1);
    expect((await run(["stat", digest, `--blob-service-addr=${other}`])).code).toBe(0);
    const envOther = { ...sandbox.env, CASTORE_BLOB_SERVICE_ADDR: other };
    expect((await run(["cat", digest], undefined, envOther)).stdout.toString()).toBe("elsewhere");
    const flagWins = await run(["stat", digest, "--blob-service-addr", "memory://"], undefined, envOther);
    expect(flagWins.code).toBe(1);
  });

  it("memory:// works for one process and keeps nothing", async () => {
    const put = await run(["put", "-", "--blob-service-addr", "memory://"], HELLOWORLD.data);
    expect(put.stdout.toString()).toBe(`${HELLOWORLD.digest}\n`);
    const stat = await run(["stat", HELLOWORLD.digest.toString(), "--blob-service-addr", "memory://"]);
    expect(stat.code).toBe(1);
  });

  it("a store whose directory does not exist is refused, and the directory is not created", async () => {
    const missing = join(sandbox.dir, "no", "such", "dir");
    const result = await run(["put", "-", "--blob-service-addr", `sqlite://${missing}/blobs.sqlite`], "x");
    expect(result.code).not.toBe(0);
    expect(result.stdout.length).toBe(0);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^castore put: .*no[/]such[/]dir/);
    expect(existsSync(join(sandbox.dir, "no"))).toBe(false);
  });

  it("a file that is not a castore store is refused with one line, exit 1, and left alone", async () => {
    const stranger = join(sandbox.dir, "notes.txt");
    await writeFile(stranger, "my notes, not a database\n".repeat(100));
    const result = await run(["stat", DUMMY_DIGEST.toString(), "--blob-service-addr", `sqlite://${stranger}`]);
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^castore stat: .*notes\.txt/);
  });
});

describe("corrupt blobs", () => {
  // Bytes with a distinctive stretch, so the test can find and damage them inside the store's files.
  function marked(size: number, tag: string): { data: Uint8Array; needle: Uint8Array } {
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = (i * 31 + 7) & 0xff;
    const needle = new TextEncoder().encode(`<<corrupt ${tag} here>>`);
    data.set(needle, Math.floor(size * 0.75));
    return { data, needle };
  }

  it.each([
    ["a small blob", 300],
    ["a large blob", 3 * 1024 * 1024 + 5],
  ])("cat of %s fails with an integrity error, exit 1, and never writes it all", async (tag, size) => {
    const dir = join(sandbox.dir, `corrupt-${size}`);
    await mkdir(dir);
    const address = `sqlite://${dir}/blobs.sqlite`;
    const { data, needle } = marked(size, tag);
    const put = await run(["put", "-", "--blob-service-addr", address], data);
    expect(put.code).toBe(0);
    const digest = put.stdout.toString().trim();
    expect(await corruptInStore(join(dir, "blobs.sqlite"), needle)).toBe(true);

    const cat = await run(["cat", digest, "--blob-service-addr", address]);
    expect(cat.code).toBe(1);
    expect(cat.stderr).toMatch(/^castore cat: integrity error: .*corrupt/);
    expect(cat.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(cat.stdout.length).toBeLessThan(data.length);
    // Whatever was written before the damage was detected is a correct prefix.
    expect(Buffer.compare(cat.stdout, data.subarray(0, cat.stdout.length))).toBe(0);
  });
});

describe("stdout and signals", () => {
  it("cat into a reader that stops early (| head -c 10) exits quietly", async () => {
    const child = spawnCastore(["cat", BLOB_C.digest.toString()], sandbox.env);
    let received = 0;
    child.stdout?.once("data", (chunk: Buffer) => {
      received = chunk.length;
      child.stdout?.destroy(); // like head -c 10: close the pipe after the first bytes
    });
    const result = await collect(child);
    expect(received).toBeGreaterThan(0);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });

  it("SIGINT during put stops it (exit 130) and stores nothing", async () => {
    const child = spawnCastore(["put", "-", "--log-level", "debug"], sandbox.env);
    const partial = new Uint8Array(200_000).fill(42);
    const reading = stderrShows(child, '"reading input"');
    const done = collect(child, "keep-open");
    // Send part of the data, wait until put is reading it, then interrupt while it waits for more.
    child.stdin?.write(partial);
    await reading;
    child.kill("SIGINT");
    const result = await done;
    expect(result.code).toBe(130);
    expect(result.stdout.length).toBe(0);
    expect(result.stderr).toMatch(/castore put: interrupted by SIGINT\n$/);
    const { digestOf } = await import("castore-core");
    const prefix = await digestOf(partial);
    expect((await run(["stat", prefix.toString()])).code).toBe(1);
  });
});

/** Resolves once the child's stderr contains `text` (the test's timeout bounds a child that never says it). */
function stderrShows(child: ChildProcess, text: string): Promise<void> {
  let stderr = "";
  return new Promise((resolve) => {
    const check = (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      if (!stderr.includes(text)) return;
      child.stderr?.off("data", check);
      resolve();
    };
    child.stderr?.on("data", check);
  });
}
