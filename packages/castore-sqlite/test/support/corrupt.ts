// Test-only damage to a stored blob, done the way a failing disk or a stray writer would: through
// a separate connection to the file, behind the service's back.
import Database from "better-sqlite3";
import type { B3Digest } from "castore-core";
import { CHUNK_ID } from "./inspect.js";

/** Where a blob's bytes live: inline in its `blobs` row, or in chunk rows. */
interface Located {
  size: number;
  chunkSize: number;
  content: number | null;
}

/**
 * Flips one bit of the stored byte at `offset` (default: the middle of the blob) of `digest` in the
 * database `file`. With `rehash`, also rewrites the chunk's stored hash to match the damaged bytes,
 * as a deliberate forger would. Returns false when the blob is absent or empty.
 */
export function corruptStoredByte(
  file: string,
  digest: B3Digest,
  options: { offset?: number; rehash?: (bytes: Uint8Array) => Uint8Array } = {},
): boolean {
  const db = new Database(file, { timeout: 10_000 });
  try {
    const meta = db
      .prepare<[Uint8Array], Located>("SELECT size, chunk_size AS chunkSize, content FROM blobs WHERE digest = ?")
      .get(digest.unsafeBytes);
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
    const data = db
      .prepare<[number, number], Buffer>(`SELECT data FROM chunks WHERE id = ${CHUNK_ID}`)
      .pluck()
      .get(meta.content, seq);
    if (!data) return false;
    const at = offset - seq * meta.chunkSize;
    data[at] = (data[at] as number) ^ 0x01;
    db.prepare(`UPDATE chunks SET data = ? WHERE id = ${CHUNK_ID}`).run(data, meta.content, seq);
    if (options.rehash) {
      db.prepare(`UPDATE chunks SET hash = ? WHERE id = ${CHUNK_ID}`).run(options.rehash(data), meta.content, seq);
    }
    return true;
  } finally {
    db.close();
  }
}
