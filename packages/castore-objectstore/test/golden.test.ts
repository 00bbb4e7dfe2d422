// Objects laid out byte for byte as snix castore writes them, read back through castore; and
// castore's own writes of the same blobs compared with them.
import { B3Digest, digestOf, putBlob, readAll } from "castore-core";
import { afterAll, describe, expect, it } from "vitest";
import { blobKey, chunkKey } from "../src/layout.js";
import { decompressChunk } from "../src/zstd.js";
import { noGateway } from "./support/s3.js";
import {
  HELLO_WORLD_CHUNK_OBJECT,
  SNIX_8MIB,
  snixGoldenInput,
  statBlobResponseBytes,
  zstdRawFrame,
} from "./support/snix-objects.js";
import { fileKind, memoryKind, type StoreKind, s3Kind } from "./support/stores.js";

const HELLO = new TextEncoder().encode("Hello World");
const INPUT = snixGoldenInput();

interface GoldenObject {
  key: string;
  bytes: Uint8Array;
}

/** What snix writes for the empty blob, "Hello World" and the 8 MiB blob, under `prefix`. */
async function snixObjects(prefix: string): Promise<GoldenObject[]> {
  const empty = await digestOf(new Uint8Array(0));
  const hello = await digestOf(HELLO);
  const big = B3Digest.parse(SNIX_8MIB.input_b3);
  const objects: GoldenObject[] = [
    { key: blobKey(prefix, empty), bytes: new Uint8Array(0) }, // no chunk: the empty blob has none
    { key: blobKey(prefix, hello), bytes: new Uint8Array(0) },
    { key: chunkKey(prefix, hello), bytes: HELLO_WORLD_CHUNK_OBJECT },
    {
      key: blobKey(prefix, big),
      bytes: statBlobResponseBytes(
        SNIX_8MIB.chunks.map((c) => ({ digest: B3Digest.parse(c.b3).bytes, size: c.length })),
      ),
    },
  ];
  for (const chunk of SNIX_8MIB.chunks) {
    const data = INPUT.subarray(chunk.offset, chunk.offset + chunk.length);
    objects.push({ key: chunkKey(prefix, B3Digest.parse(chunk.b3)), bytes: zstdRawFrame(data) });
  }
  return objects;
}

const kinds: StoreKind[] = [memoryKind, fileKind()];
if (noGateway === undefined) kinds.push(s3Kind());
afterAll(async () => {
  for (const kind of kinds) await kind.cleanup();
});

describe.each(kinds)("snix's layout on $name", (kind) => {
  it("reads what snix wrote: presence, chunk lists, whole blobs and ranges", async () => {
    const service = await kind.create();
    try {
      for (const object of await snixObjects(service.prefix)) await kind.overwrite(service, object.key, object.bytes);
      const empty = await digestOf(new Uint8Array(0));
      const hello = await digestOf(HELLO);
      const big = B3Digest.parse(SNIX_8MIB.input_b3);

      expect(await service.has(empty)).toBe(true);
      expect(await service.chunks(empty)).toEqual([]);
      expect((await readAll((await service.openRead(empty)) as AsyncIterable<Uint8Array>)).length).toBe(0);

      expect(await service.has(hello)).toBe(true);
      expect(await service.chunks(hello)).toEqual([]);
      const helloBytes = await readAll((await service.openRead(hello)) as AsyncIterable<Uint8Array>);
      expect(new TextDecoder().decode(helloBytes)).toBe("Hello World");

      const list = await service.chunks(big);
      expect(list?.map((c) => [c.digest.toHex(), c.size])).toEqual(SNIX_8MIB.chunks.map((c) => [c.b3, c.length]));
      const reader = await service.openRead(big);
      expect(reader?.size).toBe(INPUT.length);
      expect(Buffer.from(await readAll(reader as AsyncIterable<Uint8Array>)).equals(Buffer.from(INPUT))).toBe(true);

      // A range across the boundary of chunks 3 and 4, then one from the end.
      const ranged = await service.openRead(big);
      const boundary = (SNIX_8MIB.chunks[4]?.offset as number) - 100;
      await ranged?.seek(boundary);
      const across = await ranged?.read({ maxBytes: 100 });
      const rest = await ranged?.read({ maxBytes: 100 });
      expect(
        Buffer.concat([across as Uint8Array, rest as Uint8Array]).equals(
          Buffer.from(INPUT.subarray(boundary, boundary + 200)),
        ),
      ).toBe(true);
      await ranged?.seek(-10, "end");
      expect(
        Buffer.from((await ranged?.read()) as Uint8Array).equals(Buffer.from(INPUT.subarray(INPUT.length - 10))),
      ).toBe(true);
      await ranged?.close();

      // Every chunk is a blob of its own.
      const third = SNIX_8MIB.chunks[2] as { offset: number; length: number; b3: string };
      const chunkDigest = B3Digest.parse(third.b3);
      expect(await service.has(chunkDigest)).toBe(true);
      expect(await service.chunks(chunkDigest)).toEqual([]);
      const chunkBytes = await readAll((await service.openRead(chunkDigest)) as AsyncIterable<Uint8Array>);
      expect(
        Buffer.from(chunkBytes).equals(Buffer.from(INPUT.subarray(third.offset, third.offset + third.length))),
      ).toBe(true);
    } finally {
      await service.close();
    }
  });

  it("writes what snix writes: the same keys, the same blob objects, chunks of the same bytes", async () => {
    const service = await kind.create();
    try {
      for (const bytes of [new Uint8Array(0), HELLO, INPUT]) await putBlob(service, bytes);
      const golden = await snixObjects(service.prefix);
      const relative = (key: string) => (service.prefix === "" ? key : key.slice(service.prefix.length + 1));
      expect(await kind.keys(service)).toEqual(golden.map((o) => relative(o.key)).sort());
      for (const object of golden) {
        const stored = (await service.store.get(object.key)) as Uint8Array;
        if (object.key.includes("/blobs/") || object.key.startsWith("blobs/")) {
          expect(Buffer.from(stored).equals(Buffer.from(object.bytes)), object.key).toBe(true);
        } else {
          // zstd output differs between encoders and levels; the bytes inside must not.
          const expected = decompressChunk(object.bytes, 1 << 20, object.key);
          expect(
            Buffer.from(decompressChunk(stored, 1 << 20, object.key)).equals(Buffer.from(expected)),
            object.key,
          ).toBe(true);
        }
      }
    } finally {
      await service.close();
    }
  });
});
