// Test-only damage to a stored blob, done the way a failing disk or a stray writer would: through
// a separate connection to the file and straight to the chunk files, behind the service's back.
import { closeSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from "node:fs";
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
  const stored = readStoredChunk(db, chunk);
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
 * of its new bytes (in a pack of its own, as the store writes them) and the blob's chunk list
 * names that digest. Only the blob digest itself, which a full read checks, still tells.
 */
export function forgeChunk(file: string, digest: B3Digest, offset: number, blake3: Blake3Implementation): void {
  const db = new Database(file, { timeout: 10_000 });
  try {
    const located = chunkAt(db, digest, offset);
    if (!located) throw new Error("forgeChunk needs a byte of a chunked blob");
    const stored = readStoredChunk(db, located.chunk);
    if (!stored) throw new Error("the chunk is missing");
    const { data } = stored;
    data[located.at] = (data[located.at] as number) ^ 0x01;
    const hasher = blake3.createHasher();
    hasher.update(data);
    const forged = hasher.digest();
    const upload = stored.location?.upload ?? 1;
    const pack = 1_000_000;
    const path = packFilePath(file, upload, pack);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
    db.prepare("INSERT INTO packs (upload, pack) VALUES (?, ?)").run(upload, pack);
    db.prepare("INSERT INTO chunks (digest, data, size, upload, pack, offset) VALUES (?, x'', ?, ?, ?, 0)").run(
      forged,
      data.length,
      upload,
      pack,
    );
    db.prepare("UPDATE blob_chunks SET chunk = ? WHERE blob = ? AND chunk = ?").run(
      forged,
      digest.unsafeBytes,
      located.chunk,
    );
  } finally {
    db.close();
  }
}

/** Where a chunk's bytes are on disk (see ChunkFileLocation in chunk-files.ts). */
interface Location {
  upload: number;
  pack: number | null;
  offset: number;
}

/** A stored chunk's bytes, and where on disk they are (undefined: the bytes are in the row). */
export function readStoredChunk(
  db: Database.Database,
  chunk: Uint8Array,
): { data: Buffer; location?: Location } | undefined {
  const row = db
    .prepare<
      [Uint8Array],
      { data: Buffer; size: number; file: number | null; pack: number | null; offset: number | null }
    >("SELECT data, coalesce(size, length(data)) AS size, upload AS file, pack, offset FROM chunks WHERE digest = ?")
    .get(chunk);
  if (!row) return undefined;
  if (row.file === null) return { data: row.data };
  const location = { upload: row.file, pack: row.pack, offset: row.offset ?? 0 };
  const path = locationPath(db.name, chunk, location);
  if (location.pack === null) return { data: readFileSync(path), location };
  const data = Buffer.alloc(row.size);
  const fd = openSync(path, "r");
  try {
    readSync(fd, data, 0, data.length, location.offset);
  } finally {
    closeSync(fd);
  }
  return { data, location };
}

/** Stores changed bytes where the chunk's bytes were read from. */
function writeChunk(db: Database.Database, chunk: Uint8Array, stored: { location?: Location }, data: Buffer): void {
  const { location } = stored;
  if (location === undefined) db.prepare("UPDATE chunks SET data = ? WHERE digest = ?").run(data, chunk);
  else if (location.pack === null) writeFileSync(locationPath(db.name, chunk, location), data);
  else {
    const fd = openSync(locationPath(db.name, chunk, location), "r+");
    try {
      writeSync(fd, data, 0, data.length, location.offset);
    } finally {
      closeSync(fd);
    }
  }
}

/** The file that holds a chunk's bytes at `location`. */
function locationPath(file: string, digest: Uint8Array, location: Location): string {
  return location.pack === null
    ? chunkFilePath(file, digest, location.upload)
    : packFilePath(file, location.upload, location.pack);
}

/** Where the store whose database is `file` keeps pack `pack` of upload `upload` (see chunk-files.ts). */
export function packFilePath(file: string, upload: number, pack: number): string {
  return join(`${file}-chunks`, "packs", `${upload}.${pack}`);
}

/** Where the store whose database is `file` keeps the chunk file of `digest` written by `upload` (see chunk-files.ts). */
export function chunkFilePath(file: string, digest: Uint8Array, upload: number): string {
  const hex = Buffer.from(digest).toString("hex");
  return join(`${file}-chunks`, hex.slice(0, 2), `${hex}.${upload}`);
}

/**
 * The file that holds a stored chunk's bytes: its pack (shared with the chunks stored beside it),
 * or a file of its own (versions 4 and 5); undefined when the chunk is absent or its bytes are in its row.
 */
export function chunkFileOf(file: string, chunk: Uint8Array): string | undefined {
  const db = new Database(file, { readonly: true, timeout: 10_000 });
  try {
    const row = db
      .prepare<[Uint8Array], { file: number | null; pack: number | null }>(
        "SELECT upload AS file, pack FROM chunks WHERE digest = ?",
      )
      .get(chunk);
    if (row === undefined || row.file === null) return undefined;
    return locationPath(file, chunk, { upload: row.file, pack: row.pack, offset: 0 });
  } finally {
    db.close();
  }
}
