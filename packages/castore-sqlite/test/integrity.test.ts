// On-disk damage surfaces as an Integrity error, never as wrong bytes.
import { existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type B3Digest, type BlobService, blake3, digestOf } from "castore-core";
import { sealOf } from "castore-core/backend";
import { pseudoRandomBytes, readBlob } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { openSqliteBlobService } from "../src/index.js";
import { openWithHooks } from "../src/testing.js";
import { expectBytes } from "./support/bytes.js";
import { chunkFileOf, corruptStoredByte, forgeChunk } from "./support/corrupt.js";
import { chunkLengths, withConnection } from "./support/inspect.js";
import { tempFile } from "./support/temp.js";

/** Where the chunk holding byte `offset` starts, as the store (FastCDC, 1 KiB average) cuts `data`. */
function startOfChunkHolding(data: Uint8Array, offset: number): number {
  let start = 0;
  for (const length of chunkLengths(data, 1024)) {
    if (offset < start + length) return start;
    start += length;
  }
  throw new Error("offset past the end");
}

async function store(service: BlobService, data: Uint8Array): Promise<B3Digest> {
  const writer = await service.openWrite();
  await writer.write(data);
  return writer.close();
}

/**
 * Flips one bit where `needle` (a stretch of a stored blob) begins in the store's files: the
 * database and the chunk files beside it. Every copy is flipped: small rows that moved when a page
 * split leave stale copies in free space.
 */
function flipInFile(file: string, needle: Uint8Array): void {
  const chunkDir = `${file}-chunks`;
  const files = [file];
  if (existsSync(chunkDir)) {
    for (const dir of readdirSync(chunkDir))
      for (const name of readdirSync(join(chunkDir, dir))) files.push(join(chunkDir, dir, name));
  }
  let flipped = 0;
  for (const path of files) {
    const bytes = readFileSync(path);
    let here = 0;
    for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) {
      bytes[at] = (bytes[at] as number) ^ 0x10;
      here++;
    }
    if (here > 0) writeFileSync(path, bytes);
    flipped += here;
  }
  if (flipped === 0) throw new Error("the blob's bytes are not in the store's files");
}

/** Reads the whole blob, checking every byte handed out; returns how the read ended. */
async function readChecked(service: BlobService, digest: B3Digest, data: Uint8Array): Promise<string> {
  let reader: Awaited<ReturnType<BlobService["openRead"]>>;
  try {
    reader = await service.openRead(digest);
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  if (!reader) throw new Error("blob missing");
  try {
    for (;;) {
      const at = reader.position;
      const chunk = await reader.read();
      if (!chunk) return "end";
      expectBytes(chunk, data.subarray(at, at + chunk.length), `bytes at ${at}`);
    }
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    await reader.close();
  }
}

/** A fresh store (1 KiB chunks) holding one chunked blob of pseudo-random bytes from `seed`. */
async function storedChunkedBlob(seed: number) {
  const file = tempFile();
  const data = pseudoRandomBytes(4096 * 6 + 1, seed);
  const service = await openSqliteBlobService({ path: file, avgChunkSize: 1024 });
  const digest = await store(service, data);
  return { file, data, service, digest };
}

/** The same, with one of its chunks rewritten together with its digest in the rows (forgeChunk). */
async function storeWithForgedChunk() {
  const stored = await storedChunkedBlob(11);
  forgeChunk(stored.file, stored.digest, 4096 * 2 + 7, await blake3());
  return stored;
}

describe("corruption in the file", () => {
  it.each([
    ["a chunk of a large blob", 262_144, 3 * (1 << 20) + 5],
    ["an inline blob", 262_144, 100_000],
    ["a small-chunk blob", 1024, 100_000],
  ])("flipping a byte of %s in the file makes reading it fail with Integrity", async (_, avgChunkSize, size) => {
    const file = tempFile();
    const data = pseudoRandomBytes(size, size);
    let service = await openSqliteBlobService({ path: file, avgChunkSize });
    const digest = await store(service, data);
    const other = pseudoRandomBytes(5000, 1);
    const otherDigest = await store(service, other);
    await service.close(); // the last connection folds the write-ahead log into the file

    const middle = Math.floor(size / 2);
    flipInFile(file, data.subarray(middle, middle + 16));

    service = await openSqliteBlobService({ path: file, avgChunkSize });
    expect(await service.has(digest)).toBe(true);
    expect(await readChecked(service, digest, data)).toBe("Integrity");
    // A ranged read of the damaged region fails too; the other blob is unharmed.
    const reader = await service.openRead(digest);
    await reader?.seek(middle);
    await expect(reader?.read({ maxBytes: 1 })).rejects.toMatchObject({ code: "Integrity" });
    await reader?.close();
    expectBytes(await readBlob(service, otherDigest), other);
    await service.close();
  });

  it("a chunk rewritten together with its stored digests fails at open: the list no longer matches its seal", async () => {
    const { service, digest } = await storeWithForgedChunk();
    await expect(service.openRead(digest)).rejects.toMatchObject({
      code: "Integrity",
      message: expect.stringContaining("does not match the seal"),
    });
    await service.close();
  });

  it("without a seal (a blob stored before seals), a forged chunk list still fails a full read before its clean end", async () => {
    const { file, data, service, digest } = await storeWithForgedChunk();
    withConnection(file, (db) => db.exec("UPDATE blobs SET chunk_list_seal = NULL"));
    // Every chunk passes its own check; the blob digest fails the read before its clean end.
    const reader = await service.openRead(digest);
    if (!reader) throw new Error("blob missing");
    let handedOut = 0;
    let ending = "end";
    try {
      for await (const chunk of reader) handedOut += chunk.length;
    } catch (error) {
      ending = (error as { code: string }).code;
    }
    expect(ending).toBe("Integrity");
    expect(handedOut).toBe(data.length);
    await service.close();
  });

  it("a chunk whose bytes no longer match its digest fails a read from the start at that chunk", async () => {
    const { file, data, service, digest } = await storedChunkedBlob(14);
    corruptStoredByte(file, digest, { offset: 4096 * 3 + 5 });
    expect(await readChecked(service, digest, data)).toBe("Integrity");
    const reader = await service.openRead(digest);
    let handedOut = 0;
    await expect(
      (async () => {
        for await (const chunk of reader ?? []) handedOut += chunk.length;
      })(),
    ).rejects.toMatchObject({ code: "Integrity" });
    expect(handedOut).toBe(startOfChunkHolding(data, 4096 * 3 + 5));
    await service.close();
  });

  it.each([
    // Chunks 3 and 4 swap places: every chunk intact, the lengths still add up.
    [
      "chunk order",
      `UPDATE blob_chunks SET seq = -3 WHERE seq = 3;
       UPDATE blob_chunks SET seq = 3 WHERE seq = 4;
       UPDATE blob_chunks SET seq = 4 WHERE seq = -3;`,
    ],
    ["seal", "UPDATE blobs SET chunk_list_seal = zeroblob(32)"],
  ])("a damaged %s fails at open, before any byte goes out, for a range read too", async (_, damage) => {
    const { file, service, digest } = await storedChunkedBlob(16);
    withConnection(file, (db) => db.exec(damage));
    await expect(service.openRead(digest)).rejects.toMatchObject({ code: "Integrity" });
    await service.close();
  });

  it("a chunked blob's row holds the seal of its chunk list, bound to the blob", async () => {
    const { file, data, service, digest } = await storedChunkedBlob(17);
    await service.close();
    const { seal, chunks } = withConnection(file, (db) => ({
      seal: db.prepare<[], Buffer>("SELECT chunk_list_seal FROM blobs").pluck().get() as Buffer,
      chunks: db
        .prepare<[], { digest: Buffer; size: number }>("SELECT chunk AS digest, size FROM blob_chunks ORDER BY seq")
        .all(),
    }));
    expect(chunks.length).toBeGreaterThan(2);
    expect(Buffer.from(sealOf(await blake3(), chunks, digest, data.length))).toEqual(seal);
  });

  it.each([
    ["chunk digest", "chunk = zeroblob(32)"],
    ["chunk length", "size = size + 1"],
  ])("a damaged %s in the stored chunk list (bytes intact) fails a read with Integrity", async (_, change) => {
    const { file, data, service, digest } = await storedChunkedBlob(15);
    withConnection(file, (db) => db.exec(`UPDATE blob_chunks SET ${change} WHERE seq = 3`));
    expect(await readChecked(service, digest, data)).toBe("Integrity");
    await service.close();
  });

  it("a missing chunk row, a truncated or missing chunk file or a wrong size is an Integrity error", async () => {
    const file = tempFile();
    const data = pseudoRandomBytes(4096 * 4, 12);
    // Small chunks in files too (see CHUNK_FILE_MIN_BYTES), for the chunk-file cases.
    const service = await openWithHooks({ path: file, avgChunkSize: 1024 }, { chunkFileMinBytes: 0 });
    /** The file of the blob's chunk number `seq`. */
    const chunkFileAt = (digest: B3Digest, seq: number) => {
      const chunk = withConnection(file, (db) =>
        db
          .prepare<[Uint8Array, number], Buffer>("SELECT chunk FROM blob_chunks WHERE blob = ? AND seq = ?")
          .pluck()
          .get(digest.unsafeBytes, seq),
      );
      return chunkFileOf(file, chunk as Buffer) as string;
    };
    const cases: [string, (digest: B3Digest) => void][] = [
      [
        "missing chunk",
        () =>
          withConnection(file, (db) =>
            db.exec("DELETE FROM chunks WHERE digest = (SELECT chunk FROM blob_chunks WHERE seq = 2)"),
          ),
      ],
      ["truncated chunk file", (digest) => truncateSync(chunkFileAt(digest, 1), 100)],
      ["missing chunk file", (digest) => rmSync(chunkFileAt(digest, 2))],
      [
        "wrong size",
        (digest) =>
          withConnection(file, (db) =>
            db.prepare("UPDATE blobs SET size = size - 1 WHERE digest = ?").run(digest.unsafeBytes),
          ),
      ],
    ];
    for (const [what, damage] of cases) {
      const digest = await store(service, data);
      damage(digest);
      expect(await readChecked(service, digest, data), what).toBe("Integrity");
      withConnection(file, (db) => db.exec("DELETE FROM blobs; DELETE FROM chunks; DELETE FROM blob_chunks"));
    }
    await service.close();
  });

  it("a row claiming to be the empty blob under another digest is an Integrity error", async () => {
    const file = tempFile();
    const service = await openSqliteBlobService(file);
    const data = pseudoRandomBytes(10, 13);
    const digest = await store(service, data);
    withConnection(file, (db) =>
      db.prepare("UPDATE blobs SET size = 0, data = x'' WHERE digest = ?").run(digest.unsafeBytes),
    );
    expect(await readChecked(service, digest, data)).toBe("Integrity");
    expect(digest.equals(await digestOf(data))).toBe(true);
    await service.close();
  });
});
