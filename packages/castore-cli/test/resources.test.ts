// runCli is a public export: a program may run many commands in one process, so a failing command
// must give back every file descriptor it took (the input file, the store's database).
import { readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DUMMY_DIGEST, HELLOWORLD } from "castore-fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSandbox, type Sandbox } from "./helpers/cli.js";
import { runInProcess } from "./helpers/in-process.js";

let sandbox: Sandbox;
let file: string;
beforeAll(async () => {
  sandbox = await makeSandbox();
  file = join(sandbox.dir, "hello.bin");
  await writeFile(file, HELLOWORLD.data);
});
afterAll(async () => {
  await sandbox.cleanup();
});

const openDescriptors = () => readdirSync("/proc/self/fd").length;

describe("in-process runs release their file descriptors", () => {
  const runs = 20;
  it.each([
    ["put FILE, store address with an unknown scheme", () => ["put", file, "--blob-service-addr", "frob://x"], 2],
    ["put FILE, SQLite store in a missing directory", () => ["put", file, "--blob-service-addr", missingSqlite()], 2],
    ["put FILE, memory store (success)", () => ["put", file, "--blob-service-addr", "memory://"], 0],
    [
      "cat, SQLite store in a missing directory",
      () => ["cat", DUMMY_DIGEST.toString(), "--blob-service-addr", missingSqlite()],
      2,
    ],
    ["stat of an absent blob in a SQLite store", () => ["stat", DUMMY_DIGEST.toString()], 1],
  ])("%s", async (_name, args, expectedCode) => {
    const run = () => runInProcess(args(), { env: sandbox.env });
    // One run first: loading a backend may open descriptors that stay open for the process's life.
    expect((await run()).code).toBe(expectedCode);
    const before = openDescriptors();
    for (let i = 0; i < runs; i++) expect((await run()).code).toBe(expectedCode);
    // A leak grows the count by about one per run; a descriptor the runtime itself closes
    // meanwhile (a worker's pipe, a lazily closed file) may shrink it, which is no leak.
    expect(openDescriptors()).toBeLessThanOrEqual(before);
  });
});

function missingSqlite(): string {
  return `sqlite://${sandbox.dir}/missing/blobs.sqlite`;
}
