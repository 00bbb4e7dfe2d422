// Test-only damage to a stored blob, done the way a failing disk or a stray writer would: through
// a separate connection to the file and straight to the chunk files, behind the service's back.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
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
  const stored = readChunk(db, chunk);
  if (!stored || stored.data.length === 0) return false;
  const { data } = stored;
  const where = at ?? Math.floor(data.length / 2);
  data[where] = (data[where] as number) ^ 0x01;
  writeChunk(db, chunk, stored, data);
  return true;
}

/**
 * What a deliberate forger with write access to the store would do: changes a byte of a chunked
 * blob and rewrites every stored digest that could reveal it: the chunk is stored under the digest
 * of its new bytes (a chunk file of its own, as the store writes them) and the blob's chunk list
 * names that digest. Only the blob digest itself, which a full read checks, still tells.
 */
export function forgeChunk(file: string, digest: B3Digest, offset: number, blake3: Blake3Implementation): void {
  const db = new Database(file, { timeout: 10_000 });
  try {
    const located = chunkAt(db, digest, offset);
    if (!located) throw new Error("forgeChunk needs a byte of a chunked blob");
    const stored = readChunk(db, located.chunk);
    if (!stored) throw new Error("the chunk is missing");
    const { data } = stored;
    data[located.at] = (data[located.at] as number) ^ 0x01;
    const hasher = blake3.createHasher();
    hasher.update(data);
    const forged = hasher.digest();
    const upload = stored.upload ?? 1;
    const path = chunkFilePath(file, forged, upload);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
    db.prepare("INSERT INTO chunks (digest, data, size, file) VALUES (?, x'', ?, ?)").run(forged, data.length, upload);
    db.prepare("UPDATE blob_chunks SET chunk = ? WHERE blob = ? AND chunk = ?").run(
      forged,
      digest.unsafeBytes,
      located.chunk,
    );
  } finally {
    db.close();
  }
}

/** A stored chunk's bytes, and the upload whose file holds them (undefined: the bytes are in the row). */
function readChunk(db: Database.Database, chunk: Uint8Array): { data: Buffer; upload?: number } | undefined {
  const row = db
    .prepare<[Uint8Array], { data: Buffer; file: number | null }>("SELECT data, file FROM chunks WHERE digest = ?")
    .get(chunk);
  if (!row) return undefined;
  if (row.file === null) return { data: row.data };
  return { data: readFileSync(chunkFilePath(db.name, chunk, row.file)), upload: row.file };
}

/** Stores changed bytes where the chunk's bytes were read from. */
function writeChunk(db: Database.Database, chunk: Uint8Array, stored: { upload?: number }, data: Buffer): void {
  if (stored.upload === undefined) db.prepare("UPDATE chunks SET data = ? WHERE digest = ?").run(data, chunk);
  else writeFileSync(chunkFilePath(db.name, chunk, stored.upload), data);
}

/** Where the store whose database is `file` keeps the chunk file of `digest` written by `upload` (see chunk-files.ts). */
export function chunkFilePath(file: string, digest: Uint8Array, upload: number): string {
  const hex = Buffer.from(digest).toString("hex");
  return join(`${file}-chunks`, hex.slice(0, 2), `${hex}.${upload}`);
}

/** Where a stored chunk's file is (undefined when the chunk is absent or its bytes are in its row). */
export function chunkFileOf(file: string, chunk: Uint8Array): string | undefined {
  const db = new Database(file, { readonly: true, timeout: 10_000 });
  try {
    const upload = db
      .prepare<[Uint8Array], number | null>("SELECT file FROM chunks WHERE digest = ?")
      .pluck()
      .get(chunk);
    return upload === undefined || upload === null ? undefined : chunkFilePath(file, chunk, upload);
  } finally {
    db.close();
  }
}
