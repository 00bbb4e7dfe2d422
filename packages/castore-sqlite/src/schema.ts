import type { Database } from "better-sqlite3";
import { BackendError, UnsupportedError } from "castore-core";

/** Marks a SQLite file as a castore store (`PRAGMA application_id`, "cAST"), so we never adopt a stranger's database. */
export const APPLICATION_ID = 0x63415354;
/** The layout below. Bump it (and refuse older code) whenever the tables change meaning. */
export const SCHEMA_VERSION = 1;
/** Large pages halve the cost of big values (fewer overflow pages); it must be set before the first table. */
export const PAGE_SIZE = 65536;
/** Page cache per connection, in KiB. */
const PAGE_CACHE_KIB = 16 * 1024;

/**
 * - `blobs`: one row per stored blob, written in the same transaction that makes it visible. A blob
 *   of at most one chunk keeps its bytes inline in `data` (one row, one b-tree: as cheap as a plain
 *   insert); a larger one points at its chunk rows through `content`. `data` comes last so that
 *   reading the other columns never touches its overflow pages.
 * - `uploads`: writers that have stored chunks but not yet committed. `host` and `pid` name the
 *   owning process so that a later open can reclaim the rows of one that died; `started_at` is when
 *   the owner last renewed its lease (ms; set at the start, renewed while the owner runs), so that
 *   any process on any host reclaims an upload whose lease lapsed; `abandoned` marks an
 *   upload whose chunks are being deleted, after which no chunk can be added to it and it cannot
 *   commit; `process_token` tells this process from an earlier one that had the same pid (as
 *   in a restarted container). AUTOINCREMENT: an id is never reused, so it can serve as the blob's
 *   `content` id.
 * - `chunks`: the bytes of multi-chunk blobs, with two digests each: `hash`, the BLAKE3 of the
 *   chunk alone, so a ranged read verifies exactly the chunks it touches; and `running`, the BLAKE3
 *   of the blob's bytes from its start through this chunk, so a read from the start checks each
 *   chunk and, at the last one, the whole blob with a single pass of hashing. The row id is
 *   `content << 32 | seq` (see statements.ts): a chunk is found, and an upload's chunks are
 *   deleted as a range, without a second index, so a chunk insert rewrites one b-tree page besides
 *   its bytes.
 */
const TABLES = `
  CREATE TABLE blobs (
    digest BLOB NOT NULL PRIMARY KEY,
    size INTEGER NOT NULL,
    chunk_size INTEGER NOT NULL,
    content INTEGER,
    data BLOB
  );
  CREATE TABLE uploads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    process_token TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    abandoned INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    hash BLOB NOT NULL,
    running BLOB NOT NULL,
    data BLOB NOT NULL
  );
`;

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
  checkVersion(db, file);
  if (!readonly && db.pragma("journal_mode", { simple: true }) !== "wal") db.pragma("journal_mode = WAL");
  // A bound on the page cache in bytes, whatever the page size (chunk bytes mostly pass through it once).
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
}

function isEmpty(db: Database): boolean {
  return db.prepare("SELECT count(*) FROM sqlite_schema").pluck().get() === 0;
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
        : "its layout is older than any this castore-sqlite knows";
    throw new UnsupportedError(
      `${file} has castore schema version ${version}, this castore-sqlite supports version ${SCHEMA_VERSION}: ${hint}`,
    );
  }
}
