// Writes a schema-version-1 store (the layout of castore-sqlite 0.1.0, see
// test/fixtures/v1-store.sqlite) directly with SQL, for upgrade tests and the upgrade benchmark
// that need more data than the committed fixture holds. The rows are what 0.1.0 wrote: fixed
// chunks keyed content << 32 | seq, each with its own BLAKE3 and the running BLAKE3 of the blob.
import Database from "better-sqlite3";
import { blake3 } from "castore-core";

const V1_TABLES = `
  CREATE TABLE blobs (digest BLOB NOT NULL PRIMARY KEY, size INTEGER NOT NULL, chunk_size INTEGER NOT NULL,
    content INTEGER, data BLOB);
  CREATE TABLE uploads (id INTEGER PRIMARY KEY AUTOINCREMENT, host TEXT NOT NULL, pid INTEGER NOT NULL,
    process_token TEXT NOT NULL, started_at INTEGER NOT NULL, abandoned INTEGER NOT NULL DEFAULT 0);
  CREATE TABLE chunks (id INTEGER PRIMARY KEY, hash BLOB NOT NULL, running BLOB NOT NULL, data BLOB NOT NULL);
`;

/**
 * Creates `file` as a v1 store holding `count` blobs of `blobSize` bytes each from `bytesOf(i)`,
 * in chunks of `chunkSize`. Returns the blobs' digests (hex).
 */
export async function writeV1Store(file, { count, blobSize, chunkSize, bytesOf }) {
  const implementation = await blake3();
  const db = new Database(file);
  try {
    db.pragma("page_size = 65536");
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.exec(V1_TABLES);
    db.pragma("application_id = 1665225556");
    db.pragma("user_version = 1");
    const insertChunk = db.prepare("INSERT INTO chunks (id, hash, running, data) VALUES (? * 4294967296 + ?, ?, ?, ?)");
    const insertBlob = db.prepare(
      "INSERT INTO blobs (digest, size, chunk_size, content, data) VALUES (?, ?, ?, ?, NULL)",
    );
    const digests = [];
    for (let i = 0; i < count; i++) {
      const data = bytesOf(i, blobSize);
      const running = implementation.createHasher();
      const content = i + 1;
      db.transaction(() => {
        for (let seq = 0; seq * chunkSize < data.length; seq++) {
          const chunk = data.subarray(seq * chunkSize, (seq + 1) * chunkSize);
          const own = implementation.createHasher();
          own.update(chunk);
          running.update(chunk);
          insertChunk.run(content, seq, own.digest(), running.digestSoFar(), chunk);
        }
        const digest = running.digest();
        insertBlob.run(digest, data.length, chunkSize, content);
        digests.push(Buffer.from(digest).toString("hex"));
      })();
    }
    return digests;
  } finally {
    db.close();
  }
}
