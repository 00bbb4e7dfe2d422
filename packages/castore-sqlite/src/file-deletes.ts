import { readdirSync } from "node:fs";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { ChunkFiles } from "./chunk-files.js";
import type { PackRef } from "./pack-rows.js";
import type { Statements } from "./statements.js";

/** A chunk file: the chunk's digest and the upload that wrote it. */
export type ChunkFileRef = readonly [digest: Uint8Array, upload: number];

/** How many listed deletions one pass of {@link finishFileDeletes} takes at a time. */
const PASS = 256;

/**
 * Deletes chunk files already on the list to delete (chunk_files_to_delete, recorded in the
 * transaction that dropped their rows), then takes them off it. Returns whether they are off the
 * list (see deleteThenForget).
 */
export function deleteListedFiles(statements: Statements, files: ChunkFiles, refs: readonly ChunkFileRef[]): boolean {
  if (refs.length === 0) return true;
  const paths = refs.map(([digest, upload]) => files.path(digest, upload));
  return deleteThenForget(files, paths, () => statements.forgetFileDeletes(refs));
}

/**
 * Deletes packs already marked for deletion (in the transaction that found no row names them and
 * their upload over), then takes their rows away. Returns whether they are gone (see deleteThenForget).
 */
export function deleteListedPacks(statements: Statements, files: ChunkFiles, packs: readonly PackRef[]): boolean {
  if (packs.length === 0) return true;
  const paths = packs.map(([upload, pack]) => files.packPath(upload, pack));
  return deleteThenForget(files, paths, () => statements.forgetPacks(packs));
}

/**
 * Deletes files recorded for deletion, then forgets the record. If forgetting fails (the database
 * busy), the record stays and a later pass deletes the files again, which finds them gone.
 */
function deleteThenForget(files: ChunkFiles, paths: readonly string[], forget: () => void): boolean {
  files.remove(paths);
  try {
    forget();
    return true;
  } catch {
    // See above.
    return false;
  }
}

/**
 * Deletes every chunk file and pack still on the list: what a process killed between a deletion's
 * commit and the files' removal left behind. Run where dead writers are reclaimed (on open, then
 * periodically).
 */
export function finishFileDeletes(statements: Statements, files: ChunkFiles): void {
  drainList(
    () => statements.filesToDelete(PASS),
    (refs) => deleteListedFiles(statements, files, refs),
  );
  drainList(
    () => statements.packs.toDelete(PASS),
    (packs) => deleteListedPacks(statements, files, packs),
  );
}

/** Deletes what a list holds, a pass at a time, until a pass finds it short or cannot clear what it deleted. */
function drainList<T>(next: () => readonly T[], deleteListed: (entries: readonly T[]) => boolean): void {
  for (;;) {
    const entries = next();
    // Still listed (the database busy): the next pass, not this one, tries again.
    if (!deleteListed(entries) || entries.length < PASS) return;
  }
}

/** How many packs the sweep looks up between two turns of the event loop. */
const SWEEP_STEP = 1024;

/**
 * Deletes packs that no row declares and whose upload is gone: none can ever be named by a row
 * (uploads are never reused). A writer leaves one when another process reclaimed its upload and
 * forgot a pack it had declared before the writer created it, and the writer was killed (or
 * SQLite refused it) before it declared the pack again; or when a power loss undid the
 * declaration of a pack whose file survived. A directory listing and a lookup per pack, a step
 * at a time so other work goes on; stops at the first failure (the store closed, say).
 */
export async function sweepStrayPacks(statements: Statements, files: ChunkFiles): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(files.packDirectory);
  } catch {
    // No packs yet (or none readable: the reads that need them will say so).
    return;
  }
  for (let start = 0; start < names.length; start += SWEEP_STEP) {
    if (start > 0) await nextTurn();
    const strays: string[] = [];
    for (const name of names.slice(start, start + SWEEP_STEP)) {
      const match = /^(\d+)\.(\d+)$/.exec(name);
      if (!match) continue;
      const [upload, pack] = [Number(match[1]), Number(match[2])];
      if (!statements.packs.isKnown(upload, pack)) strays.push(files.packPath(upload, pack));
    }
    files.remove(strays);
  }
}
