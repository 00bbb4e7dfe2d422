// Opening a schema-version-1 file upgrades it in place to the current version (3, through 2): on
// the committed fixture written by castore-sqlite 0.1.0, without re-hashing, and atomically (an
// interrupted upgrade leaves a file that opens as version 1 or 6, never in between).
import { spawn } from "node:child_process";
import { copyFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { B3Digest, digestOf, putBlob } from "castore-core";
import { pseudoRandomBytes, readBlob } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { openSqliteBlobService } from "../src/index.js";
import { CHUNK_SIZE, V1_BLOBS, v1BlobData } from "./fixtures/v1-store-plan.mjs";
import { expectBytes } from "./support/bytes.js";
import { countRows, withConnection } from "./support/inspect.js";
import { tempFile } from "./support/temp.js";
import { writeV1Store } from "./support/v1-store.mjs";

const FIXTURE = fileURLToPath(new URL("./fixtures/v1-store.sqlite", import.meta.url));
const childScript = fileURLToPath(new URL("./children/open-store.mjs", import.meta.url));

function versionOf(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma("user_version", { simple: true }) as number;
  } finally {
    db.close();
  }
}

function fixtureCopy(): string {
  const file = tempFile();
  copyFileSync(FIXTURE, file);
  return file;
}

describe("upgrading a version-1 store", () => {
  it("the fixture written by castore-sqlite 0.1.0 opens as version 6 with every blob intact", async () => {
    const file = fixtureCopy();
    expect(versionOf(file)).toBe(1);
    const service = await openSqliteBlobService(file);
    expect(versionOf(file)).toBe(6);
    expect(await service.count()).toBe(V1_BLOBS.length);
    for (const blob of V1_BLOBS) {
      const digest = B3Digest.from(blob.digest);
      const data = v1BlobData(blob);
      expectBytes(await readBlob(service, digest), data, blob.name);
      // v1's fixed chunks become the chunk list; blobs of one chunk stay one piece.
      const chunks = (await service.chunks(digest)) ?? [];
      const expected = data.length > CHUNK_SIZE ? Math.ceil(data.length / CHUNK_SIZE) : 0;
      expect(chunks.length, blob.name).toBe(expected);
      for (const [i, chunk] of chunks.entries()) {
        const bytes = data.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE);
        expect(chunk.size).toBe(bytes.length);
        expect(chunk.digest.equals(await digestOf(bytes))).toBe(true);
        expectBytes(await readBlob(service, chunk.digest), bytes, `${blob.name}, chunk ${i}`);
      }
      // Random access into an upgraded blob.
      if (data.length < 7) continue;
      const reader = await service.openRead(digest);
      await reader?.seek(-7, "end");
      const tail: Uint8Array[] = [];
      for await (const piece of reader ?? []) tail.push(piece);
      expectBytes(Buffer.concat(tail), data.subarray(data.length - 7), `${blob.name}, its end`);
      await reader?.close();
    }
    // The upload a writer of 0.1.0 left when its process died is gone, and nothing leaks.
    expect(countRows(file)).toMatchObject({ uploads: 0, orphanChunks: 0 });
    // New blobs go in as version 6 stores them, next to the upgraded ones.
    const fresh = pseudoRandomBytes(1 << 20, 3);
    expectBytes(await readBlob(service, await putBlob(service, fresh)), fresh);
    await service.close();
    // And it stays version 6.
    const again = await openSqliteBlobService({ path: file, readonly: true });
    expect(await again.count()).toBe(V1_BLOBS.length + 1);
    await again.close();
  });

  it("does not re-hash: v1's stored chunk digests are taken, so a wrong one fails the reads that touch it", async () => {
    const file = fixtureCopy();
    const many = V1_BLOBS.find((blob) => blob.name === "many chunks");
    if (!many) throw new Error("fixture plan changed");
    // Damage the stored digest of chunk 5 of that blob, as a failing disk might have in v1.
    withConnection(file, (db) =>
      db
        .prepare(
          "UPDATE chunks SET hash = zeroblob(32) WHERE id = (SELECT content FROM blobs WHERE digest = ?) * 4294967296 + 5",
        )
        .run(Buffer.from(many.digest, "hex")),
    );
    const service = await openSqliteBlobService(file);
    const digest = B3Digest.from(many.digest);
    expect((await service.chunks(digest))?.[5]?.digest.equals(new Uint8Array(32))).toBe(true);
    const reader = await service.openRead(digest);
    await reader?.seek(CHUNK_SIZE * 5 + 1);
    await expect(reader?.read()).rejects.toMatchObject({ code: "Integrity" });
    await reader?.close();
    // The chunks around it read fine.
    const near = await service.openRead(digest);
    await near?.seek(CHUNK_SIZE * 6);
    expectBytes(await near?.read({ maxBytes: 10 }), v1BlobData(many).subarray(CHUNK_SIZE * 6, CHUNK_SIZE * 6 + 10));
    await near?.close();
    await service.close();
  });

  it("a read-only open of a version-1 file is refused with a hint, and changes nothing", async () => {
    const file = fixtureCopy();
    await expect(openSqliteBlobService({ path: file, readonly: true })).rejects.toMatchObject({
      code: "Unsupported",
      message: expect.stringMatching(/version 1.*open it writable once to upgrade it/),
    });
    expect(versionOf(file)).toBe(1);
  });

  it("killed at any moment of the upgrade, the file opens as version 1 or 6 and then upgrades whole", async () => {
    // A v1 store big enough that the upgrade takes a while: 48 blobs of 1 MiB in 64 KiB chunks.
    const file = tempFile();
    const bytesOf = (i: number, size: number) => pseudoRandomBytes(size, 500 + i);
    const digests = await writeV1Store(file, { count: 48, blobSize: 1 << 20, chunkSize: 64 << 10, bytesOf });
    const versions = new Set<number>();
    for (let attempt = 0; attempt < 4 && versionOf(file) === 1; attempt++) {
      const child = spawn(process.execPath, [childScript, file], { stdio: ["ignore", "pipe", "inherit"] });
      const exited = new Promise((resolve) => child.on("close", resolve));
      // Killed as soon as it starts opening, and a little later each time.
      await new Promise<void>((resolve) => {
        child.stdout.on("data", (chunk: Buffer) => {
          if (chunk.toString().includes("OPENING")) setTimeout(() => resolve(), attempt * 40);
        });
        void exited.then(() => resolve());
      });
      child.kill("SIGKILL");
      await exited;
      versions.add(versionOf(file));
    }
    for (const version of versions) expect([1, 6]).toContain(version);
    const service = await openSqliteBlobService(file);
    expect(versionOf(file)).toBe(6);
    for (const [i, hex] of digests.entries()) {
      expectBytes(await readBlob(service, B3Digest.from(hex)), bytesOf(i, 1 << 20), `blob ${i}`);
    }
    expect(countRows(file)).toMatchObject({ blobs: 48, uploads: 0, orphanChunks: 0 });
    await service.close();
  });
});
