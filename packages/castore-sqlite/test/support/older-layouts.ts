// Test-only: turns a closed store into the layout an older castore-sqlite wrote, to test upgrades
// and the reading of what older versions left (done through a separate connection, as a file
// written by that version would be found).
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { chunkFilePath, packFilePath, readStoredChunk } from "./corrupt.js";

/**
 * Moves every chunk out of its pack into a file of its own (`HH/HEX.N`, as versions 4 and 5 wrote
 * them), deletes the packs, and, given `dropPackColumns`, takes away what version 6 added, leaving
 * a version-5 file. Without it the file stays version 6, with chunk files of their own beside it
 * (what an upgraded store holds).
 */
export function moveChunksOutOfPacks(file: string, options: { dropPackColumns?: boolean } = {}): void {
  const db = new Database(file);
  try {
    const rows = db
      .prepare<[], [Buffer, number]>("SELECT digest, upload FROM chunks WHERE pack IS NOT NULL")
      .raw()
      .all();
    const clear = db.prepare("UPDATE chunks SET pack = NULL, offset = NULL WHERE digest = ?");
    for (const [digest, upload] of rows) {
      const { data } = readStoredChunk(db, digest) as { data: Buffer };
      const path = chunkFilePath(file, digest, upload);
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      writeFileSync(path, data, { mode: 0o600 });
      clear.run(digest);
    }
    db.exec("DELETE FROM packs");
    rmSync(dirname(packFilePath(file, 0, 0)), { recursive: true, force: true });
    if (options.dropPackColumns) {
      db.exec(`
        DROP INDEX chunks_by_pack;
        DROP INDEX packs_to_delete;
        DROP TABLE legacy_uploads;
        ALTER TABLE chunks DROP COLUMN pack;
        ALTER TABLE chunks DROP COLUMN offset;
        ALTER TABLE chunks RENAME COLUMN upload TO file;
        DROP TABLE packs;
      `);
      db.pragma("user_version = 5");
    }
  } finally {
    db.close();
  }
}
