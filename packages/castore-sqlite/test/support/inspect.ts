// Looks at a store's file through a separate connection, the way another process would.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { chunkSizesFor, FastCdcChunker } from "castore-core/backend";

export interface FileCounts {
  blobs: number;
  inlineBlobs: number;
  /** Stored chunks (each digest once). */
  chunks: number;
  uploads: number;
  /** Chunks that no blob lists and no upload holds: leaks. */
  orphanChunks: number;
  /** Chunk-list entries of stored blobs whose chunk is not stored: damage. */
  missingChunks: number;
  /** Stored blobs without a use row, plus use rows without a blob (version 3 on): damage. */
  unmatchedUses: number;
  /**
   * Chunk files and packs in the directory beside the file that no chunk row names, plus `packs`
   * rows that no chunk row names (version 6 on): leaks.
   */
  strayFiles: number;
  /** Chunk rows whose file is not there: damage. */
  missingFiles: number;
}

/** The counts of a store with nothing left over and nothing dangling (compare with toMatchObject). */
export const CONSISTENT: Partial<FileCounts> = {
  uploads: 0,
  orphanChunks: 0,
  missingChunks: 0,
  unmatchedUses: 0,
  strayFiles: 0,
  missingFiles: 0,
};

export function countRows(file: string): FileCounts {
  const db = new Database(file, { readonly: true, timeout: 10_000 });
  try {
    const count = (sql: string) => db.prepare<[], number>(sql).pluck().get() ?? 0;
    return {
      blobs: count("SELECT count(*) FROM blobs"),
      inlineBlobs: count("SELECT count(*) FROM blobs WHERE data IS NOT NULL"),
      chunks: count("SELECT count(*) FROM chunks"),
      uploads: count("SELECT count(*) FROM uploads"),
      orphanChunks: count(
        `SELECT count(*) FROM chunks WHERE digest NOT IN (SELECT chunk FROM blob_chunks)
           AND digest NOT IN (SELECT chunk FROM upload_chunks)`,
      ),
      missingChunks: count("SELECT count(*) FROM blob_chunks WHERE chunk NOT IN (SELECT digest FROM chunks)"),
      unmatchedUses:
        count("SELECT count(*) FROM sqlite_schema WHERE name = 'blob_use'") === 0
          ? 0
          : count(
              `SELECT (SELECT count(*) FROM blobs WHERE digest NOT IN (SELECT blob FROM blob_use))
                    + (SELECT count(*) FROM blob_use WHERE blob NOT IN (SELECT digest FROM blobs))`,
            ),
      ...chunkFileCounts(file, db),
    };
  } finally {
    db.close();
  }
}

/** Chunk files and packs against the rows that name them (version 4 on; none before). */
function chunkFileCounts(file: string, db: Database.Database): { strayFiles: number; missingFiles: number } {
  const hasColumn = (name: string) =>
    db.prepare("SELECT 1 FROM pragma_table_info('chunks') WHERE name = ?").get(name) !== undefined;
  // Versions 4 and 5 name the upload that wrote a chunk's file `file`; version 6, `upload`.
  const hasPacks = hasColumn("pack");
  const rows =
    hasColumn("file") || hasPacks
      ? db
          .prepare<[], [Buffer, number, number | null]>(
            hasPacks
              ? "SELECT digest, upload, pack FROM chunks WHERE upload IS NOT NULL"
              : "SELECT digest, file, NULL FROM chunks WHERE file IS NOT NULL",
          )
          .raw()
          .all()
      : [];
  // Names as listed below: "HH/HEX.N" for a file of its own, "packs/N.P" for a pack.
  const named = new Set(
    rows.map(([digest, upload, pack]) => {
      const hex = digest.toString("hex");
      return pack === null ? `${hex.slice(0, 2)}/${hex}.${upload}` : `packs/${upload}.${pack}`;
    }),
  );
  const root = `${file}-chunks`;
  const present = new Set<string>();
  if (existsSync(root)) {
    for (const dir of readdirSync(root)) for (const name of readdirSync(join(root, dir))) present.add(`${dir}/${name}`);
  }
  const unnamedPackRows = hasPacks
    ? (db
        .prepare<[], number>(
          "SELECT count(*) FROM packs WHERE NOT EXISTS (SELECT 1 FROM chunks WHERE upload = packs.upload AND pack = packs.pack)",
        )
        .pluck()
        .get() ?? 0)
    : 0;
  return {
    strayFiles: [...present].filter((name) => !named.has(name)).length + unnamedPackRows,
    missingFiles: [...named].filter((name) => !present.has(name)).length,
  };
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

/** The lengths of the chunks FastCDC cuts `data` into with this average (what a store does). */
export function chunkLengths(data: Uint8Array, avgChunkSize: number): number[] {
  const chunker = new FastCdcChunker(chunkSizesFor(avgChunkSize));
  const ends = [...chunker.update(data), ...chunker.finish()].map((cut) => cut.end);
  return ends.map((end, i) => end - (i === 0 ? 0 : (ends[i - 1] as number)));
}
