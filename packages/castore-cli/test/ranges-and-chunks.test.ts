// `castore stat --chunks` and `castore cat --offset/--length`: through a chunking store in this
// process (a test scheme over castore-memory, so the chunk list is real), against the default SQLite
// store in real processes, and through a real daemon (a forward-only stream).

import { join } from "node:path";
import { type BlobService, type ChunkMeta, register } from "castore-core";
import { BLOB_C, DUMMY_DIGEST, HELLOWORLD, put } from "castore-fixtures";
import { MemoryBlobService } from "castore-memory";
import { corruptForTesting } from "castore-memory/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSandbox, runCastore, type Sandbox } from "./helpers/cli.js";
import { type Daemon, startDaemon } from "./helpers/daemon.js";
import { runInProcess } from "./helpers/in-process.js";

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await makeSandbox();
});
afterAll(async () => {
  await sandbox.cleanup();
});

/** What the next open of `chunked-test://` damages: a chunk digest, or nothing. */
let corruptOnOpen: ChunkMeta | undefined;

// Every open is a fresh memory store holding BLOB_C and HELLOWORLD (the CLI closes its store after
// each command), cut at an average of 64 KiB so BLOB_C has many chunks.
register({
  scheme: "chunked-test",
  description: "chunked-test:// — castore-memory preloaded with BLOB_C (tests only)",
  async open(): Promise<BlobService> {
    const store = new MemoryBlobService({ avgChunkSize: 65536 });
    await put(store, BLOB_C.data);
    await put(store, HELLOWORLD.data);
    if (corruptOnOpen) corruptForTesting(store, corruptOnOpen.digest);
    return store;
  },
});

const inProcess = (args: string[]) =>
  runInProcess([...args, "--blob-service-addr", "chunked-test://"], { env: sandbox.env });

async function blobCChunks(): Promise<ChunkMeta[]> {
  const store = new MemoryBlobService({ avgChunkSize: 65536 });
  await put(store, BLOB_C.data);
  const chunks = (await store.chunks(BLOB_C.digest)) ?? [];
  await store.close();
  return chunks;
}

describe("stat --chunks", () => {
  it("prints the present line, then one line per chunk: b3:<digest> <size>", async () => {
    const chunks = await blobCChunks();
    expect(chunks.length).toBeGreaterThan(40);
    const result = await inProcess(["stat", "--chunks", BLOB_C.digest.toHex()]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout.toString()).toBe(
      `${[`${BLOB_C.digest} present`, ...chunks.map((c) => `${c.digest} ${c.size}`)].join("\n")}\n`,
    );
    // Each listed chunk is a blob of its own.
    const first = chunks[0] as ChunkMeta;
    const cat = await inProcess(["cat", first.digest.toString()]);
    expect(Buffer.compare(cat.stdout, BLOB_C.data.subarray(0, first.size))).toBe(0);
  });

  it("prints only the present line for a one-piece blob, and the absent line (exit 1) for an absent one", async () => {
    const one = await inProcess(["stat", "--chunks", HELLOWORLD.digest.toString()]);
    expect(one).toMatchObject({ code: 0, stderr: "" });
    expect(one.stdout.toString()).toBe(`${HELLOWORLD.digest} present\n`);
    const absent = await inProcess(["stat", "--chunks", DUMMY_DIGEST.toString()]);
    expect(absent).toMatchObject({ code: 1, stderr: "" });
    expect(absent.stdout.toString()).toBe(`${DUMMY_DIGEST} absent\n`);
  });
});

describe("cat --offset --length", () => {
  const size = BLOB_C.data.length;
  it.each([
    [0, 10],
    [65_000, 200_000], // across several chunk boundaries
    [size - 5, 5], // the last bytes
    [size - 5, 100], // a length past the end stops at the end
    [1_234_567, undefined], // to the end
    [undefined, 777], // from the start
    [size, 10], // exactly at the end: nothing
    [42, 0], // nothing
  ])("writes exactly the range (offset %s, length %s)", async (offset, length) => {
    const args = ["cat", BLOB_C.digest.toString()];
    if (offset !== undefined) args.push("--offset", String(offset));
    if (length !== undefined) args.push("--length", String(length));
    const result = await inProcess(args);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const from = offset ?? 0;
    const expected = BLOB_C.data.subarray(from, length === undefined ? size : from + length);
    expect(Buffer.compare(result.stdout, expected)).toBe(0);
  });

  it("refuses malformed values and an offset past the end (exit 2), writing nothing", async () => {
    for (const bad of ["--offset=-1", "--offset=1e3", "--offset= 1", "--length=abc", "--length=9007199254740993"]) {
      const result = await inProcess(["cat", BLOB_C.digest.toString(), bad]);
      expect(result.code, bad).toBe(2);
      expect(result.stdout.length).toBe(0);
      expect(result.stderr).toMatch(/^castore cat: --(offset|length) must be a whole number of bytes/);
    }
    // Without "=", node's parser takes "-1" for an option: a usage error too.
    const dashed = await inProcess(["cat", BLOB_C.digest.toString(), "--offset", "-1"]);
    expect(dashed.code).toBe(2);
    const past = await inProcess(["cat", BLOB_C.digest.toString(), "--offset", String(size + 1)]);
    expect(past.code).toBe(2);
    expect(past.stdout.length).toBe(0);
    expect(past.stderr).toMatch(/past the end of the blob/);
  });

  it("with a corrupted chunk, fails only the ranges that touch it (integrity error, exit 1, only verified bytes out)", async () => {
    const chunks = await blobCChunks();
    const bad = 10;
    const start = chunks.slice(0, bad).reduce((sum, c) => sum + c.size, 0);
    corruptOnOpen = chunks[bad];
    try {
      const touching = await inProcess([
        "cat",
        BLOB_C.digest.toString(),
        "--offset",
        String(start - 10),
        "--length",
        "20",
      ]);
      expect(touching.code).toBe(1);
      // The 10 bytes before the damaged chunk come from an intact, verified chunk; none after.
      expect(Buffer.compare(touching.stdout, BLOB_C.data.subarray(start - 10, start))).toBe(0);
      const inside = await inProcess(["cat", BLOB_C.digest.toString(), "--offset", String(start + 5), "--length", "5"]);
      expect(inside.code).toBe(1);
      expect(inside.stdout.length).toBe(0);
      expect(touching.stderr).toMatch(/^castore cat: integrity error: /);
      const before = await inProcess(["cat", BLOB_C.digest.toString(), "--length", String(start)]);
      expect(before).toMatchObject({ code: 0, stderr: "" });
      expect(Buffer.compare(before.stdout, BLOB_C.data.subarray(0, start))).toBe(0);
    } finally {
      corruptOnOpen = undefined;
    }
  });

  it("reads a range and lists chunks from the default SQLite store, directly and through a daemon, as real processes", async () => {
    const env = sandbox.env;
    const put = await runCastore(["put", "-"], { env, input: BLOB_C.data });
    expect(put.code).toBe(0);
    const range = ["--offset", "3000000", "--length", "100000"];
    const expected = BLOB_C.data.subarray(3_000_000, 3_100_000);
    const local = await runCastore(["cat", BLOB_C.digest.toString(), ...range], { env });
    expect(local).toMatchObject({ code: 0, stderr: "" });
    expect(Buffer.compare(local.stdout, expected)).toBe(0);

    const store = `sqlite://${join(sandbox.dir, "data", "castore", "blobs.sqlite")}`;
    let daemon: Daemon | undefined;
    try {
      daemon = await startDaemon(["--listen-address", "127.0.0.1:0", "--blob-service-addr", store], env);
      const via = ["--blob-service-addr", daemon.address];
      const remote = await runCastore(["cat", BLOB_C.digest.toString(), ...range, ...via], { env });
      expect(remote).toMatchObject({ code: 0, stderr: "" });
      expect(Buffer.compare(remote.stdout, expected)).toBe(0);
      // The daemon answers Stat with the store's own chunk list, so both views agree chunk for chunk.
      const localStat = await runCastore(["stat", "--chunks", BLOB_C.digest.toString()], { env });
      expect(localStat).toMatchObject({ code: 0, stderr: "" });
      const localLines = localStat.stdout.toString().trimEnd().split("\n");
      expect(localLines[0]).toBe(`${BLOB_C.digest} present`);
      expect(localLines.length).toBeGreaterThan(2);
      const sizes = localLines.slice(1).map((line) => Number(line.split(" ")[1]));
      expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(BLOB_C.data.length);
      const remoteStat = await runCastore(["stat", "--chunks", BLOB_C.digest.toString(), ...via], { env });
      expect(remoteStat).toMatchObject({ code: 0, stderr: "" });
      expect(remoteStat.stdout.toString()).toBe(localStat.stdout.toString());
    } finally {
      await daemon?.stop();
    }
  });
});
