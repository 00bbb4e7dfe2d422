import type { ChunkFiles } from "./chunk-files.js";
import type { PackRef } from "./pack-rows.js";
import type { Statements } from "./statements.js";

/** A chunk file: the chunk's digest and the upload that wrote it. */
export type ChunkFileRef = readonly [digest: Uint8Array, upload: number];

/** How many listed deletions one pass of {@link finishFileDeletes} takes at a time. */
const PASS = 256;

/**
 * Deletes chunk files already on the list to delete (chunk_files_to_delete, recorded in the
 * transaction that dropped their rows), then takes them off it. If the second step fails (the
 * database busy), they stay listed and a later pass deletes them again, which finds them gone.
 * Returns whether they are off the list.
 */
export function deleteListedFiles(statements: Statements, files: ChunkFiles, refs: readonly ChunkFileRef[]): boolean {
  if (refs.length === 0) return true;
  files.remove(refs.map(([digest, upload]) => files.path(digest, upload)));
  try {
    statements.forgetFileDeletes(refs);
    return true;
  } catch {
    // See above.
    return false;
  }
}

/**
 * Deletes packs already marked for deletion (in the transaction that found no row names them and
 * their upload over), then takes their rows away; as {@link deleteListedFiles} otherwise.
 */
export function deleteListedPacks(statements: Statements, files: ChunkFiles, packs: readonly PackRef[]): boolean {
  if (packs.length === 0) return true;
  files.remove(packs.map(([upload, pack]) => files.packPath(upload, pack)));
  try {
    statements.forgetPacks(packs);
    return true;
  } catch {
    // See deleteListedFiles.
    return false;
  }
}

/**
 * Deletes every chunk file and pack still on the list: what a process killed between a deletion's
 * commit and the files' removal left behind. Run where dead writers are reclaimed (on open, then
 * periodically).
 */
export function finishFileDeletes(statements: Statements, files: ChunkFiles): void {
  for (;;) {
    const refs = statements.filesToDelete(PASS);
    // Still listed (the database busy): the next pass, not this one, tries again.
    if (!deleteListedFiles(statements, files, refs) || refs.length < PASS) break;
  }
  for (;;) {
    const packs = statements.packsToDelete(PASS);
    if (!deleteListedPacks(statements, files, packs) || packs.length < PASS) return;
  }
}
