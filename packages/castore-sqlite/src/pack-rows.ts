import type { Database, Statement } from "better-sqlite3";

/** A pack file: the upload that wrote it and its index among that upload's packs. */
export type PackRef = readonly [upload: number, pack: number];

/**
 * The `packs` table (see schema.ts, version 6): a pack is declared before its file is created,
 * marked `deleting` once its upload is over and no chunk row names it, and its row goes once the
 * file is gone. Every method runs inside its caller's transaction.
 */
export class PackRows {
  readonly #declare: Statement<[number, number]>;
  readonly #named: Statement<[number, number], number>;
  readonly #uploadExists: Statement<[number], number>;
  readonly #markDeleting: Statement<[number, number]>;
  readonly #markUnnamedOfUpload: Statement<[number], number>;
  readonly #toDelete: Statement<[number], [number, number]>;
  readonly #forget: Statement<[number, number]>;
  readonly #known: Statement<[number, number, number], number>;

  constructor(db: Database) {
    this.#declare = db.prepare("INSERT INTO packs (upload, pack) VALUES (?, ?) ON CONFLICT DO NOTHING");
    this.#named = db
      .prepare<[number, number], number>("SELECT 1 FROM chunks WHERE upload = ? AND pack = ? LIMIT 1")
      .pluck();
    this.#uploadExists = db.prepare<[number], number>("SELECT 1 FROM uploads WHERE id = ?").pluck();
    this.#markDeleting = db.prepare("UPDATE packs SET deleting = 1 WHERE upload = ? AND pack = ?");
    this.#markUnnamedOfUpload = db
      .prepare<[number], number>(
        `UPDATE packs SET deleting = 1
         WHERE upload = ? AND NOT EXISTS (SELECT 1 FROM chunks WHERE upload = packs.upload AND pack = packs.pack)
         RETURNING pack`,
      )
      .pluck();
    this.#toDelete = db
      .prepare<[number], [number, number]>("SELECT upload, pack FROM packs WHERE deleting = 1 LIMIT ?")
      .raw();
    this.#forget = db.prepare("DELETE FROM packs WHERE upload = ? AND pack = ? AND deleting = 1");
    this.#known = db
      .prepare<[number, number, number], number>(
        "SELECT 1 WHERE EXISTS (SELECT 1 FROM packs WHERE upload = ? AND pack = ?) OR EXISTS (SELECT 1 FROM uploads WHERE id = ?)",
      )
      .pluck();
  }

  /** Declares pack `pack` of a live upload: from here on, releasing the upload finds its file. */
  declare(upload: number, pack: number): void {
    this.#declare.run(upload, pack);
  }

  /**
   * After rows naming the pack were deleted: marks it for deletion when its upload is over (an
   * upload still open may yet add rows; its end checks its packs) and no row names it any more.
   * Returns whether it was marked.
   */
  markIfUnnamed(upload: number, pack: number): boolean {
    if (this.#uploadExists.get(upload) !== undefined || this.#named.get(upload, pack) !== undefined) return false;
    return this.#markDeleting.run(upload, pack).changes === 1;
  }

  /** As an upload ends (committed or released): marks its packs that no row names for deletion, and returns them. */
  markUnnamedOfUpload(upload: number): PackRef[] {
    return this.#markUnnamedOfUpload.all(upload).map((pack) => [upload, pack] as const);
  }

  /** Up to `limit` packs marked for deletion. */
  toDelete(limit: number): PackRef[] {
    return this.#toDelete.all(limit);
  }

  /**
   * Whether pack `pack` of upload `upload` may be (or become) a pack some row names: it is
   * declared, or its upload still exists (and may yet declare it). A file of neither is a stray.
   */
  isKnown(upload: number, pack: number): boolean {
    return this.#known.get(upload, pack, upload) !== undefined;
  }

  /** Declares packs 0 to `count` less one of an upload (those already declared stay as they are). */
  declareAll(upload: number, count: number): void {
    for (let pack = 0; pack < count; pack++) this.#declare.run(upload, pack);
  }

  /** Takes a deleted pack's row away. */
  forget(upload: number, pack: number): void {
    this.#forget.run(upload, pack);
  }
}
