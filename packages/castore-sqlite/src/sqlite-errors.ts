import { BackendError, isCastoreError } from "castore-core";

/**
 * Runs a database call and turns SQLite's own errors (busy past the timeout, disk full, I/O
 * errors) into `Backend` errors that say what we were doing; castore errors pass through.
 */
export function sqliteCall<T>(action: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw asBackendError(action, error);
  }
}

export function asBackendError(action: string, error: unknown): unknown {
  if (isCastoreError(error)) return error;
  const detail = error instanceof Error ? `: ${error.message}` : "";
  return new BackendError(`SQLite failed to ${action}${detail}`, { cause: error });
}
