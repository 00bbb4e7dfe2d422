import type { Database } from "better-sqlite3";
import { BackendError, UnsupportedError } from "castore-core";

/** Marks a SQLite file as a castore store (`PRAGMA application_id`, "cAST"), so we never adopt a stranger's database. */
export const APPLICATION_ID = 0x63415354;
/** The layout below. Bump it (and refuse older code) whenever the tables change meaning. */
export const SCHEMA_VERSION = 6;
/**
 * SQLite's usual page size; it must be set before the first table, and a file keeps it for good.
 * Pages hold rows (chunk bytes live in files): a commit logs every page it touched, and with the
 * 64 KiB pages of versions 1 to 3 (chosen when pages held chunk bytes) the log of a chunked put grew
 * by half as much as the blob. A store created with them keeps them.
 */
export const PAGE_SIZE = 4096;
/** Page cache per connection, in KiB. */
const PAGE_CACHE_KIB = 16 * 1024;
/**
 * A writing connection checkpoints once the log holds this many pages (16 MiB; 256 MiB in a store
 * with 64 KiB pages), not SQLite's default 1000: every checkpoint syncs the database file. (When
 * chunk bytes went through the log, a quarter as many checkpoints made a durable 1 GiB put about 15%
 * faster.)
 */
export const WAL_CHECKPOINT_PAGES = 4096;
/**
 * When the log starts over, its file is cut back to this size: a reader that kept a checkpoint from
 * finishing may have let it grow past the checkpoint point. Not smaller: a file cut back further
 * must be grown again (blocks allocated anew) every cycle, which cost most of the gain above.
 */
export const WAL_KEPT_BYTES = WAL_CHECKPOINT_PAGES * PAGE_SIZE;

/**
 * The tables of version 2: chunks stored once by digest, shared between blobs.
 * - `blobs`: one row per stored blob, written in the same transaction that makes it visible. A blob
 *   of fewer than two chunks (one piece) keeps its bytes inline in `data` (one row, one b-tree: as
 *   cheap as a plain insert); for a chunked blob `data` is NULL and `blob_chunks` lists its chunks.
 * - `chunks`: the bytes of every chunk of a chunked blob, keyed by their BLAKE3 digest: a chunk that
 *   several blobs (or uploads) share is stored once. Every chunk is also readable as a blob.
 * - `blob_chunks`: a chunked blob's ordered chunk list (seq from 0), with each chunk's length.
 * - `uploads`: writers that have stored chunks but not yet committed. `host` and `pid` name the
 *   owning process (a dead local one is reclaimed at once); `renewed_at` is when the owner last
 *   renewed its lease (ms), so that any process on any host reclaims an upload whose lease lapsed;
 *   `abandoned` marks an upload being deleted: it can gain no chunks and cannot commit.
 *   `process_token` tells this process from an earlier one with the same pid. AUTOINCREMENT: ids
 *   are never reused.
 * - `upload_chunks`: the chunks an upload has stored so far, in order. They pin their chunks: a
 *   chunk row is deleted only when no blob lists it and no upload holds it (see statements.ts).
 * `blob_chunks_by_chunk` answers "does a blob still use this chunk?" when an upload goes; the few
 * rows of `upload_chunks` (unfinished uploads only) are scanned, as an index on them would cost a
 * random page write per stored chunk.
 */
const V2_TABLES = `
  CREATE TABLE blobs (
    digest BLOB NOT NULL PRIMARY KEY,
    size INTEGER NOT NULL,
    data BLOB
  );
  CREATE TABLE chunks (
    digest BLOB NOT NULL PRIMARY KEY,
    data BLOB NOT NULL
  );
  CREATE TABLE blob_chunks (
    blob BLOB NOT NULL,
    seq INTEGER NOT NULL,
    chunk BLOB NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (blob, seq)
  ) WITHOUT ROWID;
  CREATE INDEX blob_chunks_by_chunk ON blob_chunks (chunk);
  CREATE TABLE uploads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    process_token TEXT NOT NULL,
    renewed_at INTEGER NOT NULL,
    abandoned INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE upload_chunks (
    upload INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    chunk BLOB NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (upload, seq)
  ) WITHOUT ROWID;
`;

/**
 * Version 3 adds `blob_use`: when each stored blob was last used (written or, in a store with
 * `maxSize`, read), in the units of recency.ts, for evicting the least recently used first. A
 * row per blob, inserted in the transaction that stores the blob and deleted in the one that
 * evicts it. It is its own small table, not a column of `blobs`, because an update rewrites the
 * whole row, and a `blobs` row may hold up to a chunk's bytes inline. No index on `used_at`:
 * eviction scans these small rows (about 40 bytes each), which is cheaper than keeping an index
 * up to date on every touch.
 */
const BLOB_USE_TABLE = `
  CREATE TABLE blob_use (
    blob BLOB NOT NULL PRIMARY KEY,
    used_at INTEGER NOT NULL
  ) WITHOUT ROWID;
`;

/**
 * Version 4 moves the bytes of new chunks out of the database, into a file each beside it (see
 * chunk-files.ts): SQLite's log wrote every byte twice. A chunk row with `file` set names the upload
 * that wrote its file, keeps its length in `size` and an empty `data`; a row from before keeps its
 * bytes in `data` (and `size` NULL), and reads on as before. Adding columns rewrites nothing.
 * `chunk_files_to_delete` lists chunk files no row names any more, written in the transaction that
 * deleted their rows and cleared once the files are gone: a process killed in between leaves the
 * list to whoever opens the store next.
 */
const CHUNK_FILE_COLUMNS = `
  ALTER TABLE chunks ADD COLUMN size INTEGER;
  ALTER TABLE chunks ADD COLUMN file INTEGER;
  CREATE TABLE chunk_files_to_delete (
    digest BLOB NOT NULL,
    file INTEGER NOT NULL,
    PRIMARY KEY (digest, file)
  ) WITHOUT ROWID;
`;

/**
 * Version 5 adds `chunk_list_seal` to a chunked blob's row: the seal of its chunk list (see
 * ChunkListSealer in castore-core), written with the list. A reader that finds the list it read
 * back matches its seal trusts the list and checks each chunk's bytes against the chunk's digest,
 * instead of hashing the whole blob a second time; a damaged list fails at open, before any byte
 * goes out. Rows from before (NULL) are read as before, with the whole-blob check.
 */
const CHUNK_LIST_SEAL_COLUMN = `
  ALTER TABLE blobs ADD COLUMN chunk_list_seal BLOB;
`;

/**
 * Version 6 stores the chunks an upload writes in pack files, a few MiB each, instead of a file per
 * chunk (see chunk-files.ts): creating and syncing a file per 256 KiB chunk held a durable put at
 * about two thirds of the disk's rate. `file` becomes `upload` (the upload that wrote the chunk's
 * bytes): a process of an older castore-sqlite still running on the file fails on it, instead of
 * looking for packed chunks in files of their own (and reporting them missing) or leaving packs
 * behind when it deletes rows. A chunk row with `pack` set names pack `pack` of upload `upload`
 * and keeps its bytes at `offset`; a row with `pack` NULL names a file of its own, as in version
 * 4, and reads on as before. `packs` lists every pack an upload declared, in the
 * transaction that pinned the chunks bound for it and before the file exists: a writer that dies
 * leaves no pack its release cannot find. A pack is deleted once its upload is over and no chunk
 * row names it: `deleting` marks it so in the transaction that took its last row (or ended its
 * upload), and the row goes once the file is gone. `chunks_by_pack` answers "does a row still
 * name this pack?" (new packs sort last, so it grows at its end); `packs_to_delete` finds those
 * marked. `legacy_uploads` lists the uploads open when the file was upgraded: only those can have
 * written files of a chunk's own, so only their release looks for such files.
 */
const PACK_COLUMNS = `
  ALTER TABLE chunks RENAME COLUMN file TO upload;
  ALTER TABLE chunks ADD COLUMN pack INTEGER;
  ALTER TABLE chunks ADD COLUMN offset INTEGER;
  CREATE INDEX chunks_by_pack ON chunks (upload, pack) WHERE pack IS NOT NULL;
  CREATE TABLE packs (
    upload INTEGER NOT NULL,
    pack INTEGER NOT NULL,
    deleting INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (upload, pack)
  ) WITHOUT ROWID;
  CREATE INDEX packs_to_delete ON packs (upload, pack) WHERE deleting = 1;
  CREATE TABLE legacy_uploads (id INTEGER PRIMARY KEY);
  INSERT INTO legacy_uploads (id) SELECT id FROM uploads;
`;

const TABLES = `${V2_TABLES}${BLOB_USE_TABLE}${CHUNK_FILE_COLUMNS}${CHUNK_LIST_SEAL_COLUMN}${PACK_COLUMNS}`;

/**
 * Version 1 → 2, in one transaction (an interrupted upgrade leaves the file at version 1): the v1
 * chunk rows of stored blobs move to `chunks` under the per-chunk digest v1 stored with each (no
 * re-hashing; a wrong one fails the reads that touch the chunk, as before), their order and lengths
 * become `blob_chunks`; inline blobs keep their bytes. v1 upload rows and their chunks (writers that
 * never committed, dead or of an older castore-sqlite that cannot write to a v2 file) are dropped.
 */
const UPGRADE_FROM_V1 = `
  ALTER TABLE blobs RENAME TO v1_blobs;
  ALTER TABLE chunks RENAME TO v1_chunks;
  DROP TABLE uploads;
  ${V2_TABLES}
  INSERT INTO blobs (digest, size, data) SELECT digest, size, data FROM v1_blobs;
  INSERT INTO blob_chunks (blob, seq, chunk, size)
    SELECT b.digest, c.id & 4294967295, c.hash, length(c.data)
    FROM v1_blobs b JOIN v1_chunks c ON c.id BETWEEN b.content * 4294967296 AND b.content * 4294967296 + 4294967295
    WHERE b.content IS NOT NULL;
  INSERT INTO chunks (digest, data)
    SELECT c.hash, c.data
    FROM v1_blobs b JOIN v1_chunks c ON c.id BETWEEN b.content * 4294967296 AND b.content * 4294967296 + 4294967295
    WHERE b.content IS NOT NULL
    ON CONFLICT DO NOTHING;
  DROP TABLE v1_blobs;
  DROP TABLE v1_chunks;
`;

/**
 * Version 2 → 3: every stored blob gets a `blob_use` row that makes it older than anything used
 * after the upgrade (0), so an upgraded store evicts what it held before first, in digest order.
 */
const UPGRADE_FROM_V2 = `
  ${BLOB_USE_TABLE}
  INSERT INTO blob_use (blob, used_at) SELECT digest, 0 FROM blobs;
`;

/** The statements that bring a file of a version to the next one. */
const UPGRADES: Readonly<Record<number, string>> = {
  1: UPGRADE_FROM_V1,
  2: UPGRADE_FROM_V2,
  3: CHUNK_FILE_COLUMNS,
  4: CHUNK_LIST_SEAL_COLUMN,
  5: PACK_COLUMNS,
};

/**
 * Sets the connection up and makes sure the file holds a castore store of the version this code
 * speaks: creates the tables in a new (empty) file, refuses a foreign database or an unknown
 * version with a clear error. Safe when several processes open a new file at once.
 */
export function prepareDatabase(db: Database, readonly: boolean, file: string): void {
  // First of all: only takes effect while the file has no tables (WAL then fixes it for good), and a
  // query before it would size the page cache in 4 KiB pages that later hold 64 KiB each.
  if (!readonly) db.pragma(`page_size = ${PAGE_SIZE}`);
  if (!readonly && isEmpty(db)) {
    db.pragma("journal_mode = WAL");
    db.transaction(() => {
      // Another process may have won the race to initialise the file while we waited for the lock.
      if (!isEmpty(db)) return;
      db.exec(TABLES);
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  }
  if (!readonly && needsUpgrade(db)) upgrade(db);
  checkVersion(db, file);
  if (!readonly && db.pragma("journal_mode", { simple: true }) !== "wal") db.pragma("journal_mode = WAL");
  // A bound on the page cache in bytes, whatever the page size (chunk bytes mostly pass through it once).
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  if (!readonly) {
    db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
    db.pragma(`journal_size_limit = ${WAL_KEPT_BYTES}`);
  }
}

function needsUpgrade(db: Database): boolean {
  if (db.pragma("application_id", { simple: true }) !== APPLICATION_ID) return false;
  const version = db.pragma("user_version", { simple: true }) as number;
  return version >= 1 && version < SCHEMA_VERSION;
}

/**
 * Upgrades an older file in place, step by step up to the current version, in one transaction:
 * readers of the file see the old version until it commits, then the current one, never a
 * version in between. Another process may have upgraded it while we waited for the lock.
 */
function upgrade(db: Database): void {
  db.transaction(() => {
    for (;;) {
      if (!needsUpgrade(db)) return;
      const version = db.pragma("user_version", { simple: true }) as number;
      db.exec(UPGRADES[version] as string);
      db.pragma(`user_version = ${version + 1}`);
    }
  }).immediate();
}

function isEmpty(db: Database): boolean {
  return db.prepare("SELECT count(*) FROM sqlite_schema").pluck().get() === 0;
}

function readonlyHint(version: number): string {
  return version >= 1
    ? "open it writable once to upgrade it in place"
    : "its layout is older than any this castore-sqlite knows";
}

function checkVersion(db: Database, file: string): void {
  const applicationId = db.pragma("application_id", { simple: true }) as number;
  const version = db.pragma("user_version", { simple: true }) as number;
  if (applicationId !== APPLICATION_ID) {
    const what = isEmpty(db) ? "an empty database" : "another application's database";
    throw new BackendError(`${file} is not a castore blob store (it is ${what}); refusing to use it`);
  }
  if (version !== SCHEMA_VERSION) {
    const hint =
      version > SCHEMA_VERSION
        ? "it was written by a newer castore-sqlite; upgrade castore-sqlite to open it"
        : readonlyHint(version);
    throw new UnsupportedError(
      `${file} has castore schema version ${version}, this castore-sqlite supports version ${SCHEMA_VERSION}: ${hint}`,
    );
  }
}
