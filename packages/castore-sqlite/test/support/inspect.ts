// Looks at a store's file through a separate connection, the way another process would.
import Database from "better-sqlite3";

/** SQL for a chunk's row id from two parameters, content id and sequence number (the store's layout). */
export const CHUNK_ID = "(? * 4294967296 + ?)";

export interface FileCounts {
  blobs: number;
  inlineBlobs: number;
  chunks: number;
  uploads: number;
  /** Chunk rows that belong to no blob and no upload: leaks. */
  orphanChunks: number;
}

export function countRows(file: string): FileCounts {
  const db = new Database(file, { readonly: true, timeout: 10_000 });
  try {
    const count = (sql: string) => db.prepare<[], number>(sql).pluck().get() ?? 0;
    return {
      blobs: count("SELECT count(*) FROM blobs"),
      inlineBlobs: count("SELECT count(*) FROM blobs WHERE content IS NULL"),
      chunks: count("SELECT count(*) FROM chunks"),
      uploads: count("SELECT count(*) FROM uploads"),
      orphanChunks: count(
        `SELECT count(*) FROM chunks WHERE (id >> 32) NOT IN (SELECT id FROM uploads)
           AND (id >> 32) NOT IN (SELECT content FROM blobs WHERE content IS NOT NULL)`,
      ),
    };
  } finally {
    db.close();
  }
}

/** Every stored digest, as hex. */
export function storedDigests(file: string): string[] {
  const db = new Database(file, { readonly: true, timeout: 10_000 });
  try {
    return db
      .prepare<[], Buffer>("SELECT digest FROM blobs")
      .pluck()
      .all()
      .map((d) => d.toString("hex"));
  } finally {
    db.close();
  }
}

/** Runs SQL against the file from a separate connection (to damage or age it in tests). */
export function withConnection<T>(file: string, use: (db: Database.Database) => T): T {
  const db = new Database(file, { timeout: 10_000 });
  try {
    return use(db);
  } finally {
    db.close();
  }
}
