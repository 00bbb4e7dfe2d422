import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isBackend } from "castore-core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileObjectStore } from "../src/file-store.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "castore-objectstore-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1))
    .sort();
}

describe("FileObjectStore", () => {
  it("stores each key as a file at its path, with no temporary files left", async () => {
    const store = new FileObjectStore(join(dir, "objects"));
    await store.init();
    expect(await store.putIfAbsent("chunks/b3/abcd/abcdef", Uint8Array.from([1, 2, 3]))).toBe(true);
    expect(await store.putIfAbsent("blobs/b3/abcd/abcdef", new Uint8Array(0))).toBe(true);
    expect(await listFiles(join(dir, "objects"))).toEqual(["blobs/b3/abcd/abcdef", "chunks/b3/abcd/abcdef"]);
    expect([...(await readFile(join(dir, "objects", "chunks/b3/abcd/abcdef")))]).toEqual([1, 2, 3]);
    expect([...((await store.get("chunks/b3/abcd/abcdef")) as Uint8Array)]).toEqual([1, 2, 3]);
    expect(await store.head("blobs/b3/abcd/abcdef")).toBe(true);
    expect(await store.head("blobs/b3/abcd/other")).toBe(false);
    expect(await store.get("blobs/b3/abcd/other")).toBeUndefined();
  });

  it("never overwrites an existing object", async () => {
    const store = new FileObjectStore(dir);
    await store.init();
    await store.putIfAbsent("k/x", Uint8Array.from([1]));
    expect(await store.putIfAbsent("k/x", Uint8Array.from([2]))).toBe(false);
    expect([...((await store.get("k/x")) as Uint8Array)]).toEqual([1]);
  });

  it("concurrent puts of one key leave one whole object and no temporary files", async () => {
    const store = new FileObjectStore(dir);
    await store.init();
    const bytes = new Uint8Array(1 << 20).fill(5);
    await Promise.all(Array.from({ length: 8 }, () => store.putIfAbsent("chunks/b3/0000/same", bytes)));
    expect(await listFiles(dir)).toEqual(["chunks/b3/0000/same"]);
    expect((await store.get("chunks/b3/0000/same"))?.length).toBe(bytes.length);
  });

  it("creates its directory but not missing parents, and refuses a file in its place", async () => {
    const missingParent = new FileObjectStore(join(dir, "no", "such"));
    const error = await missingParent.init().catch((e: unknown) => e);
    expect(isBackend(error), String(error)).toBe(true);
    await writeFile(join(dir, "file"), "x");
    const onFile = await new FileObjectStore(join(dir, "file")).init().catch((e: unknown) => e);
    expect(String(onFile)).toContain("not a directory");
  });

  it("refuses keys that would leave its directory", async () => {
    const store = new FileObjectStore(join(dir, "objects"));
    await store.init();
    await expect(store.get("../escape")).rejects.toThrow(/leaves the store's directory/);
  });
});
