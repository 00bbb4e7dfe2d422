// Bounded objectstore+file stores for the eviction tests: the service, its eviction (to wait for
// it to settle), and views of the directory as another process would see it.
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { B3Digest } from "castore-core";
import { afterEach } from "vitest";
import { FileEviction } from "../../src/file-eviction.js";
import { FileObjectStore } from "../../src/file-store.js";
import { chunkKey } from "../../src/layout.js";
import { ObjectStoreBlobService } from "../../src/service.js";
import { decodeChunkList } from "../../src/stat-blob.js";

const dirs: string[] = [];

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A fresh directory for this test (deleted after it), not yet created: the store creates it. */
export async function tempRoot(): Promise<string> {
  const parent = await mkdtemp(join(tmpdir(), "castore-objectstore-bounded-"));
  dirs.push(parent);
  return join(parent, "store");
}

export interface Bounded {
  readonly service: ObjectStoreBlobService;
  readonly eviction: FileEviction;
}

export async function openBounded(root: string, maxSize: number, avgChunkSize: number): Promise<Bounded> {
  const store = new FileObjectStore(root);
  await store.init();
  const eviction = await FileEviction.open(store, "", maxSize);
  return { service: new ObjectStoreBlobService(store, { avgChunkSize }, eviction), eviction };
}

/**
 * Bytes of every object file under the root (what max_size bounds), temporary files included. A
 * file deleted while we walk (eviction runs in the background) counts as gone.
 */
export async function bytesOnDisk(root: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const info = await stat(join(entry.parentPath, entry.name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw error;
    });
    total += info?.size ?? 0;
  }
  return total;
}

/** Stored blobs (hex) whose blob object lists a chunk whose object is missing: must never happen. */
export async function danglingBlobs(root: string): Promise<string[]> {
  const dangling: string[] = [];
  for (const hex of await blobDigests(root)) {
    const bytes = await readFile(join(root, "blobs", "b3", hex.slice(0, 4), hex));
    const chunks = decodeChunkList(bytes, hex).map((chunk) => chunk.digest);
    for (const chunk of chunks.length === 0 ? [B3Digest.from(hex)] : chunks) {
      const present = await stat(join(root, chunkKey("", chunk))).then(
        () => true,
        () => false,
      );
      if (!present) dangling.push(hex);
    }
  }
  return dangling;
}

/** Hex digests of the stored blob objects. */
export async function blobDigests(root: string): Promise<string[]> {
  const base = join(root, "blobs", "b3");
  const shards = await readdir(base).catch(() => [] as string[]);
  const found: string[] = [];
  for (const shard of shards) {
    for (const name of await readdir(join(base, shard))) if (!name.startsWith(".")) found.push(name);
  }
  return found;
}
