// A dependency tree may hold two copies of castore-core (say, an application's and a backend's,
// at different versions or deduplicated differently). Digests, readers, writers and errors made by
// one copy must be recognised by the other. This test really loads two copies: the built package
// copied twice into a temporary node_modules tree, imported by file URL, so every class and module
// exists twice.
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

type Core = typeof import("../src/index.js");
type Digest = import("../src/index.js").B3Digest;
type Backend = typeof import("../src/backend.js");
interface Copy {
  core: Core;
  backend: Backend;
}

const packageDir = join(import.meta.dirname, "..");
let tree: string;
let appCopy: Copy;
let backendCopy: Copy;

/** Copies the built package to `dir` (with its dependencies reachable) and imports both entry points. */
async function loadCopy(dir: string): Promise<Copy> {
  mkdirSync(dir, { recursive: true });
  cpSync(join(packageDir, "dist"), join(dir, "dist"), { recursive: true });
  cpSync(join(packageDir, "package.json"), join(dir, "package.json"));
  symlinkSync(join(packageDir, "node_modules"), join(dir, "node_modules"), "dir");
  const load = (file: string) => import(/* @vite-ignore */ pathToFileURL(join(dir, "dist", file)).href);
  return { core: await load("index.js"), backend: await load("backend.js") };
}

beforeAll(async () => {
  tree = mkdtempSync(join(tmpdir(), "castore-two-copies-"));
  appCopy = await loadCopy(join(tree, "node_modules", "castore-core"));
  backendCopy = await loadCopy(join(tree, "node_modules", "some-backend", "node_modules", "castore-core"));
});

afterAll(() => {
  if (tree) rmSync(tree, { recursive: true, force: true });
});

/**
 * A store built on the backend's copy of core whose readers and writers come from the app's copy
 * (as when a backend wraps another library's handles): the service must track them all the same.
 */
function mixedStore(service: Backend, handles: Backend) {
  const blobs = new Map<string, Uint8Array>();
  class Writer extends handles.BaseBlobWriter {
    #parts: Uint8Array[] = [];
    protected writeChunk(chunk: Uint8Array) {
      this.#parts.push(handles.copyBytes(chunk));
    }
    protected commit(digest: Digest) {
      blobs.set(digest.toString(), handles.concatBytes(this.#parts));
    }
    protected discard() {
      this.#parts = [];
    }
  }
  class Store extends service.BaseBlobService {
    protected async hasImpl(digest: Digest) {
      return blobs.has(digest.toString());
    }
    protected async openReadImpl(digest: Digest) {
      const bytes = blobs.get(digest.toString());
      return bytes && new handles.BytesReader(digest, bytes, { chunkSize: 4 });
    }
    protected async openWriteImpl() {
      return new Writer();
    }
  }
  return { store: new Store(), blobs };
}

const HELLO = new TextEncoder().encode("Hello World!");

describe("two copies of castore-core in one process", () => {
  it("are really two copies", () => {
    expect(appCopy.core.B3Digest).not.toBe(backendCopy.core.B3Digest);
    expect(appCopy.backend.BaseBlobReader).not.toBe(backendCopy.backend.BaseBlobReader);
  });

  it("take each other's digests", async () => {
    const digest = await appCopy.core.digestOf(HELLO);
    const theirs = backendCopy.core.B3Digest.parse(digest.toHex());
    expect(digest instanceof backendCopy.core.B3Digest).toBe(true);
    expect(theirs instanceof appCopy.core.B3Digest).toBe(true);
    expect(theirs.equals(digest)).toBe(true);
    expect(digest.equals(theirs)).toBe(true);
    expect(backendCopy.core.B3Digest.from(digest).toString()).toBe(digest.toString());
    expect(backendCopy.backend.toDigest(digest).equals(theirs)).toBe(true);
    // Not everything with the right shape is a digest.
    expect({ toString: () => digest.toString() } instanceof appCopy.core.B3Digest).toBe(false);
  });

  it("recognise each other's errors by code", async () => {
    const error = new backendCopy.core.NotFoundError("no such blob");
    expect(appCopy.core.isNotFound(error)).toBe(true);
    expect(appCopy.core.isCastoreError(error, appCopy.core.ErrorCode.NotFound)).toBe(true);
    expect(appCopy.core.isIntegrity(error)).toBe(false);
  });

  it("a service on one copy accepts the other's digests and finishes the other's readers and writers on close", async () => {
    const { store, blobs } = mixedStore(backendCopy.backend, appCopy.backend);
    // The app's putBlob and digests, the backend's service.
    const digest = await appCopy.core.putBlob(store, HELLO);
    expect(await store.has(digest)).toBe(true);
    expect(await store.has(appCopy.core.B3Digest.parse(digest.toHex()))).toBe(true);

    const finishedReader = await store.openRead(digest);
    await finishedReader?.close();
    const reader = await store.openRead(digest);
    expect(reader).toBeInstanceOf(appCopy.backend.BytesReader);
    expect(new TextDecoder().decode(await reader?.read())).toBe("Hell");
    const writer = await store.openWrite();
    await writer.write(new TextEncoder().encode("never stored"));

    await store.close();
    // The open reader was closed and the unfinished writer aborted, though both are the app's.
    const readError = await reader?.read().catch((error: unknown) => error);
    expect(appCopy.core.isClosed(readError)).toBe(true);
    expect(backendCopy.core.isClosed(readError)).toBe(true);
    const closeError = await writer.close().catch((error: unknown) => error);
    expect(appCopy.core.isCastoreError(closeError)).toBe(true);
    expect(blobs.size).toBe(1);
    // The service's own errors are recognised by the app's copy.
    const closedError = await store.has(digest).catch((error: unknown) => error);
    expect(appCopy.core.isClosed(closedError)).toBe(true);
  });
});
