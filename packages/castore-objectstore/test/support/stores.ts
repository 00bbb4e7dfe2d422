// Services under test on each kind of object store, with the hooks the conformance suite and the
// failure tests use to look at and damage what is stored.
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { B3Digest, BlobService } from "castore-core";
import { objectStoreFileBackend } from "../../src/backends.js";
import { FileObjectStore } from "../../src/file-store.js";
import { chunkKey } from "../../src/layout.js";
import { MemoryObjectStore } from "../../src/memory-store.js";
import type { ObjectStoreBlobServiceOptions } from "../../src/options.js";
import { ObjectStoreBlobService } from "../../src/service.js";
import { compressChunk, decompressChunk } from "../../src/zstd.js";
import { gatewayStore, requireGateway, uniquePrefix } from "./s3.js";

/** How to reach the raw objects of one kind of store. */
export interface StoreKind {
  readonly name: string;
  create(options?: ObjectStoreBlobServiceOptions): Promise<ObjectStoreBlobService>;
  /** Replaces an object regardless of what is there. */
  overwrite(service: ObjectStoreBlobService, key: string, bytes: Uint8Array): Promise<void>;
  /** Every key under the service's prefix (relative to it), sorted. */
  keys(service: ObjectStoreBlobService): Promise<string[]>;
  /** Removes whatever `create` made outside the service (directories). */
  cleanup(): Promise<void>;
}

export const memoryKind: StoreKind = {
  name: "objectstore+memory",
  async create(options) {
    return new ObjectStoreBlobService(new MemoryObjectStore(), options);
  },
  async overwrite(service, key, bytes) {
    (service.store as MemoryObjectStore).overwrite(key, bytes);
  },
  async keys(service) {
    return (service.store as MemoryObjectStore).keys();
  },
  async cleanup() {},
};

/** `maxSize`: the store is opened by address with `max_size` (bounded: it evicts). */
export function fileKind(maxSize?: number): StoreKind {
  let parent: string | undefined;
  const roots = new WeakMap<ObjectStoreBlobService, string>();
  return {
    name: "objectstore+file",
    async create(options) {
      parent ??= await mkdtemp(join(tmpdir(), "castore-objectstore-conformance-"));
      const root = await mkdtemp(join(parent, "store-"));
      let service: ObjectStoreBlobService;
      if (maxSize === undefined) {
        const store = new FileObjectStore(root);
        await store.init();
        service = new ObjectStoreBlobService(store, options);
      } else {
        const avg = options?.avgChunkSize === undefined ? "" : `&avg_chunk_size=${options.avgChunkSize}`;
        const url = new URL(`objectstore+file://${root}?max_size=${maxSize}${avg}`);
        service = (await objectStoreFileBackend.open(url)) as ObjectStoreBlobService;
      }
      roots.set(service, root);
      return service;
    },
    async overwrite(service, key, bytes) {
      const path = join(roots.get(service) as string, key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, bytes);
    },
    async keys(service) {
      const root = roots.get(service) as string;
      const entries = await readdir(root, { recursive: true, withFileTypes: true });
      return entries
        .filter((entry) => entry.isFile())
        .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1))
        .sort();
    },
    async cleanup() {
      if (parent) await rm(parent, { recursive: true, force: true });
    },
  };
}

export function s3Kind(): StoreKind {
  let client: S3Client | undefined;
  const raw = () => {
    const target = requireGateway();
    client ??= new S3Client({
      endpoint: target.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
    });
    return { client, bucket: target.bucket };
  };
  return {
    name: "objectstore+s3",
    async create(options) {
      return new ObjectStoreBlobService(gatewayStore({ retry: { retries: 2, baseDelayMs: 50, maxDelayMs: 200 } }), {
        prefix: uniquePrefix("conformance"),
        ...options,
      });
    },
    async overwrite(_service, key, bytes) {
      const { client, bucket } = raw();
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
    },
    async keys(service) {
      const { client, bucket } = raw();
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: `${service.prefix}/`, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) keys.push((object.Key as string).slice(service.prefix.length + 1));
        token = page.NextContinuationToken;
      } while (token);
      return keys.sort();
    },
    async cleanup() {
      client?.destroy();
    },
  };
}

/** Keys relative to the service's prefix → blob objects only. */
export const blobKeys = (keys: string[]) => keys.filter((key) => key.startsWith("blobs/"));

/**
 * Damages a stored blob so that its bytes no longer hash right, while it still looks present: the
 * middle chunk (or the only one) is replaced by a valid zstd stream of the same length with one
 * bit flipped.
 */
export async function corruptBlob(kind: StoreKind, service: BlobService, digest: B3Digest): Promise<void> {
  const objects = service as ObjectStoreBlobService;
  const list = await objects.chunks(digest);
  if (list === undefined) throw new Error(`cannot corrupt ${digest}: absent`);
  const target = list.length > 0 ? (list[Math.floor(list.length / 2)]?.digest as B3Digest) : digest;
  const key = chunkKey(objects.prefix, target);
  const compressed = await objects.store.get(key);
  if (compressed === undefined) throw new Error(`cannot corrupt ${digest}: no chunk object ${key}`);
  const bytes = decompressChunk(compressed, 64 * 1024 * 1024, key);
  const index = Math.floor(bytes.length / 2);
  bytes[index] = (bytes[index] as number) ^ 0x01;
  await kind.overwrite(objects, key, compressChunk(bytes));
}

/** Bytes of blob data held: every chunk object's decompressed length, each object counted once. */
export async function storedBytes(kind: StoreKind, service: BlobService): Promise<number> {
  const objects = service as ObjectStoreBlobService;
  let total = 0;
  for (const key of await kind.keys(objects)) {
    if (!key.startsWith("chunks/")) continue;
    const full = objects.prefix === "" || key.startsWith(`${objects.prefix}/`) ? key : `${objects.prefix}/${key}`;
    const compressed = await objects.store.get(full);
    if (compressed) total += decompressChunk(compressed, 64 * 1024 * 1024, full).length;
  }
  return total;
}
