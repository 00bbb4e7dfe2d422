import { BackendError, isCastoreError, TooLargeError } from "castore-core";

/**
 * Runs a database call and turns SQLite's own errors (busy past the timeout, disk full, I/O
 * errors) into castore errors that say what we were doing; castore errors pass through.
 */
export function sqliteCall<T>(action: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw asBackendError(action, error);
  }
}

/**
 * The castore error for a failed database call: `TooLarge` when the disk (or the user's quota) is
 * full, so that callers and the gRPC edge (RESOURCE_EXHAUSTED) can tell "no room" from a fault;
 * `Backend` for everything else.
 */
export function asBackendError(action: string, error: unknown): unknown {
  if (isCastoreError(error)) return error;
  return storageError(`SQLite failed to ${action}`, error);
}

/**
 * `TooLarge` when the disk (or the user's quota) is full, `Backend` otherwise, for a failure that
 * `failed` describes ("SQLite failed to …", "castore-sqlite failed to write a chunk file …").
 */
export function storageError(failed: string, error: unknown): BackendError | TooLargeError {
  const detail = error instanceof Error ? `: ${error.message}` : "";
  if (isOutOfSpace(error)) {
    return new TooLargeError(
      `${failed}: the disk is full (or the quota is reached); free some space and retry${detail}`,
      { cause: error },
    );
  }
  return new BackendError(`${failed}${detail}`, { cause: error });
}

/**
 * Whether opening failed for want of room for SQLite's shared-memory index beside the file (as
 * SQLITE_FULL, or SQLITE_IOERR_SHMSIZE when it could not size the index).
 */
export function isNoRoomForIndex(error: unknown): boolean {
  return isOutOfSpace(error) || (error as { code?: unknown } | undefined)?.code === "SQLITE_IOERR_SHMSIZE";
}

/** SQLite's "database or disk is full", or the system's ENOSPC / EDQUOT behind an I/O error. */
function isOutOfSpace(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    const { code } = cause as { code?: unknown };
    if (code === "SQLITE_FULL" || code === "ENOSPC" || code === "EDQUOT") return true;
  }
  return false;
}
