// Test-only damage to a stored blob, done the way a failing disk or a stray writer would: through
// a separate connection to the file, behind the service's back.
import Database from "better-sqlite3";
import type { B3Digest, Blake3Implementation } from "castore-core";

/** The chunk of a chunked blob that holds byte `offset`, and where in it. */
interface ChunkAt {
  chunk: Buffer;
  at: number;
}

function chunkAt(db: Database.Database, digest: B3Digest, offset: number): ChunkAt | undefined {
  const list = db
    .prepare<[Uint8Array], { chunk: Buffer; size: number }>(
      "SELECT chunk, size FROM blob_chunks WHERE blob = ? ORDER BY seq",
    )
    .all(digest.unsafeBytes);
  let start = 0;
  for (const { chunk, size } of list) {
    if (offset < start + size) return { chunk, at: offset - start };
    start += size;
  }
  return undefined;
}

/**
 * Flips one bit of the stored byte at `offset` (default: the middle of the blob) of `digest` in the
 * database `file` (in the shared chunk that holds it, for a chunked blob; `digest` may also name a
 * chunk). Returns false when nothing non-empty is stored under `digest`.
 */
export function corruptStoredByte(file: string, digest: B3Digest, options: { offset?: number } = {}): boolean {
  const db = new Database(file, { timeout: 10_000 });
  try {
    const row = db
      .prepare<[Uint8Array], { size: number; data: Buffer | null }>("SELECT size, data FROM blobs WHERE digest = ?")
      .get(digest.unsafeBytes);
    if (!row) return corruptChunk(db, digest.unsafeBytes, options.offset);
    if (row.size === 0) return false;
    const offset = options.offset ?? Math.floor(row.size / 2);
    if (row.data !== null) {
      row.data[offset] = (row.data[offset] as number) ^ 0x01;
      db.prepare("UPDATE blobs SET data = ? WHERE digest = ?").run(row.data, digest.unsafeBytes);
      return true;
    }
    const located = chunkAt(db, digest, offset);
    return located !== undefined && corruptChunk(db, located.chunk, located.at);
  } finally {
    db.close();
  }
}

/** Flips a bit of a stored chunk (in every blob that shares it) at `at`, default its middle. */
function corruptChunk(db: Database.Database, chunk: Uint8Array, at?: number): boolean {
  const data = db.prepare<[Uint8Array], Buffer>("SELECT data FROM chunks WHERE digest = ?").pluck().get(chunk);
  if (!data || data.length === 0) return false;
  const where = at ?? Math.floor(data.length / 2);
  data[where] = (data[where] as number) ^ 0x01;
  db.prepare("UPDATE chunks SET data = ? WHERE digest = ?").run(data, chunk);
  return true;
}

/**
 * What a deliberate forger with write access to the file would do: changes a byte of a chunked
 * blob and rewrites every stored digest that could reveal it: the chunk is stored under the digest
 * of its new bytes and the blob's chunk list names that digest. Only the blob digest itself, which
 * a full read checks, still tells.
 */
export function forgeChunk(file: string, digest: B3Digest, offset: number, blake3: Blake3Implementation): void {
  const db = new Database(file, { timeout: 10_000 });
  try {
    const located = chunkAt(db, digest, offset);
    if (!located) throw new Error("forgeChunk needs a byte of a chunked blob");
    const data = db.prepare<[Buffer], Buffer>("SELECT data FROM chunks WHERE digest = ?").pluck().get(located.chunk);
    if (!data) throw new Error("the chunk is missing");
    data[located.at] = (data[located.at] as number) ^ 0x01;
    const hasher = blake3.createHasher();
    hasher.update(data);
    const forged = hasher.digest();
    db.prepare("INSERT INTO chunks (digest, data) VALUES (?, ?)").run(forged, data);
    db.prepare("UPDATE blob_chunks SET chunk = ? WHERE blob = ? AND chunk = ?").run(
      forged,
      digest.unsafeBytes,
      located.chunk,
    );
  } finally {
    db.close();
  }
}
