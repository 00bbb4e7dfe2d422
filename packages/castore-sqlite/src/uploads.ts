import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { Statements } from "./statements.js";

/**
 * Who owns the uploads this process starts: the host name, our pid, and a token drawn once per
 * process (shared through a global, so two copies of this package in one process agree).
 */
export const OWNER = {
  host: hostname(),
  pid: process.pid,
  token: ((globalThis as Record<symbol, string>)[Symbol.for("castore-sqlite.processToken")] ??=
    randomBytes(16).toString("hex")),
} as const;

/**
 * Deletes an upload's chunk rows, one bounded batch per statement so other work interleaves, then
 * the upload itself. It is marked abandoned first, so nothing adds rows meanwhile and a crash
 * half-way leaves it for the next open to finish.
 */
export async function deleteUpload(statements: Statements, upload: number): Promise<void> {
  statements.abandonUpload(upload);
  while (statements.deleteChunkBatch(upload) > 0) await nextTurn();
  statements.deleteUpload(upload);
}

/** {@link deleteUpload} without yielding between batches, for a store about to close. */
export function deleteUploadNow(statements: Statements, upload: number): void {
  statements.abandonUpload(upload);
  while (statements.deleteChunkBatch(upload) > 0);
  statements.deleteUpload(upload);
}

/**
 * Finds what crashed writers left behind: uploads owned by a process on this host that no longer
 * runs (or that had our pid before us), `givenUp` uploads of this process whose deletion failed
 * earlier, and uploads abandoned by a process that died while deleting them. Marks them abandoned
 * and returns them, for deletion. A live writer's upload, in this process or another, is never
 * touched; uploads of other hosts are left alone because we cannot tell whether their owner runs.
 */
export function abandonDeadUploads(statements: Statements, givenUp: readonly number[]): number[] {
  const dead = statements.uploadsOf(OWNER.host).filter(([, pid, token]) => !ownerIsAlive(pid, token));
  for (const [id] of dead) statements.abandonUpload(id);
  for (const id of givenUp) statements.abandonUpload(id);
  return statements.abandonedUploads();
}

/** Whether the process that started an upload on this host still runs. */
function ownerIsAlive(pid: number, token: string): boolean {
  // Our pid with another token: an earlier process that had our pid, so certainly gone.
  if (pid === OWNER.pid) return token === OWNER.token;
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
