import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { ChunkFiles } from "./chunk-files.js";
import { deleteListedFiles, deleteListedPacks } from "./file-deletes.js";
import type { Statements } from "./statements.js";

/**
 * Who owns the uploads this process starts: the host name, our pid, and a token drawn once per
 * process (shared through a global, so two copies of this package in one process agree).
 */
export const OWNER: UploadOwner = {
  host: hostname(),
  pid: process.pid,
  token: ((globalThis as Record<symbol, string>)[Symbol.for("castore-sqlite.processToken")] ??=
    randomBytes(16).toString("hex")),
};

/**
 * Releases an upload's chunks (deleting those no blob and no other upload uses), one bounded batch
 * per transaction so other work interleaves, then deletes the upload itself. It is marked abandoned first, so nothing adds rows meanwhile and a crash
 * half-way leaves it for the next open to finish.
 */
export async function deleteUpload(statements: Statements, files: ChunkFiles, upload: number): Promise<void> {
  statements.abandonUpload(upload);
  while (releaseBatch(statements, files, upload) > 0) await nextTurn();
  deleteListedPacks(statements, files, statements.deleteUpload(upload));
}

/** {@link deleteUpload} without yielding between batches, for a store about to close. */
export function deleteUploadNow(statements: Statements, files: ChunkFiles, upload: number): void {
  statements.abandonUpload(upload);
  while (releaseBatch(statements, files, upload) > 0);
  deleteListedPacks(statements, files, statements.deleteUpload(upload));
}

/** Releases one batch of an upload's chunks, then deletes the files and packs no row names any more. */
function releaseBatch(statements: Statements, files: ChunkFiles, upload: number): number {
  const { released, files: unnamed, packs } = statements.releaseChunkBatch(upload);
  deleteListedFiles(statements, files, unnamed);
  deleteListedPacks(statements, files, packs);
  return released;
}

/** Who owns an upload: the process's host name, pid, and per-process token. */
export interface UploadOwner {
  readonly host: string;
  readonly pid: number;
  readonly token: string;
}

/**
 * Finds what crashed writers left behind and marks it abandoned, for deletion:
 * - uploads whose lease lapsed: their owner, on any host, has not renewed them for `leaseMs`
 *   (a live writer's process renews its leases every quarter of that, see Store);
 * - uploads of a process on this host that no longer runs (or that had our pid before us), at
 *   once, without waiting for their lease;
 * - `givenUp` uploads of this process whose deletion failed earlier, and uploads abandoned by a
 *   process that died while deleting them.
 * Returns every abandoned upload. Uploads of this process are only ever given up by their writer.
 * A lapsed lease is re-checked by the same statement that marks the upload, so an owner that
 * renews at that moment keeps it.
 */
export function abandonDeadUploads(
  statements: Statements,
  givenUp: readonly number[],
  owner: UploadOwner,
  now: number,
  leaseMs: number,
): number[] {
  const lapsedBefore = now - leaseMs;
  for (const [id, host, pid, token, renewedAt] of statements.liveUploads()) {
    if (token === owner.token) continue;
    if (renewedAt < lapsedBefore) statements.abandonUploadRenewedBefore(id, lapsedBefore);
    else if (host === owner.host && !localOwnerIsAlive(pid, owner)) statements.abandonUpload(id);
  }
  for (const id of givenUp) statements.abandonUpload(id);
  return statements.abandonedUploads();
}

/**
 * Whether the process on this host that started an upload (not ours) may still run. A pid that
 * runs may be a stranger that reused it: then the lease decides.
 */
function localOwnerIsAlive(pid: number, owner: UploadOwner): boolean {
  // Our pid with another token: an earlier process that had our pid, so certainly gone.
  if (pid === owner.pid) return false;
  return processIsAlive(pid);
}

/** Whether a process with this pid exists (one we may not signal still exists). */
function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
