// Test-only damage to a stored blob, done the way a failing disk or a stray writer would: through
// a separate connection to the file, behind the service's back.
import Database from "better-sqlite3";
import type { B3Digest, Blake3Implementation } from "castore-core";
import { CHUNK_ID } from "./inspect.js";

/** Where a blob's bytes live: inline in its `blobs` row, or in chunk rows. */
interface Located {
  size: number;
  chunkSize: number;
  content: number | null;
}

/**
 * Flips one bit of the stored byte at `offset` (default: the middle of the blob) of `digest` in the
 * database `file`. Returns false when the blob is absent or empty.
 */
export function corruptStoredByte(file: string, digest: B3Digest, options: { offset?: number } = {}): boolean {
  const db = new Database(file, { timeout: 10_000 });
  try {
    const meta = locate(db, digest);
    if (!meta || meta.size === 0) return false;
    const offset = options.offset ?? Math.floor(meta.size / 2);
    if (meta.content === null) {
      const data = db
        .prepare<[Uint8Array], Buffer>("SELECT data FROM blobs WHERE digest = ?")
        .pluck()
        .get(digest.unsafeBytes);
      if (!data) return false;
      data[offset] = (data[offset] as number) ^ 0x01;
      db.prepare("UPDATE blobs SET data = ? WHERE digest = ?").run(data, digest.unsafeBytes);
      return true;
    }
    const seq = Math.floor(offset / meta.chunkSize);
    const data = chunkData(db, meta.content, seq);
    if (!data) return false;
    const at = offset - seq * meta.chunkSize;
    data[at] = (data[at] as number) ^ 0x01;
    db.prepare(`UPDATE chunks SET data = ? WHERE id = ${CHUNK_ID}`).run(data, meta.content, seq);
    return true;
  } finally {
    db.close();
  }
}

/**
 * What a deliberate forger with write access to the file would do: changes a byte of a chunked
 * blob and rewrites every stored digest that could reveal it (the chunk's own hash and the running
 * digests of it and all later chunks). Only the blob's digest itself, the key it is read by, still
 * tells.
 */
export function forgeChunk(file: string, digest: B3Digest, offset: number, blake3: Blake3Implementation): void {
  const db = new Database(file, { timeout: 10_000 });
  try {
    const meta = locate(db, digest);
    if (!meta || meta.content === null) throw new Error("forgeChunk needs a chunked blob");
    const content = meta.content;
    const seq = Math.floor(offset / meta.chunkSize);
    const running = blake3.createHasher();
    for (let i = 0; i * meta.chunkSize < meta.size; i++) {
      const data = chunkData(db, content, i) as Buffer;
      if (i === seq) data[offset - seq * meta.chunkSize] = (data[offset - seq * meta.chunkSize] as number) ^ 0x01;
      const own = blake3.createHasher();
      own.update(data);
      running.update(data);
      db.prepare(`UPDATE chunks SET data = ?, hash = ?, running = ? WHERE id = ${CHUNK_ID}`).run(
        data,
        own.digest(),
        running.digestSoFar(),
        content,
        i,
      );
    }
    running.dispose();
  } finally {
    db.close();
  }
}

function locate(db: Database.Database, digest: B3Digest): Located | undefined {
  return db
    .prepare<[Uint8Array], Located>("SELECT size, chunk_size AS chunkSize, content FROM blobs WHERE digest = ?")
    .get(digest.unsafeBytes);
}

function chunkData(db: Database.Database, content: number, seq: number): Buffer | undefined {
  return db
    .prepare<[number, number], Buffer>(`SELECT data FROM chunks WHERE id = ${CHUNK_ID}`)
    .pluck()
    .get(content, seq);
}
