import { ErrorCode, isCastoreError, UnavailableError } from "castore-core";

/**
 * Kinds of failure that say something about the request or the data, not about the far store's
 * health: they pass through unchanged. Everything else from far (a Backend or Closed error, a
 * connection failure) means far cannot serve now and becomes `Unavailable`.
 */
const PASSED_THROUGH = new Set<string>([
  ErrorCode.NotFound,
  ErrorCode.InvalidDigest,
  ErrorCode.InvalidArgument,
  ErrorCode.Integrity,
  ErrorCode.Aborted,
  ErrorCode.TooLarge,
  ErrorCode.Unsupported,
  ErrorCode.Unavailable,
]);

/** Runs an operation on the far store; its failures are reported as described above. */
export async function fromFar<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw farError(what, error);
  }
}

/** The error a cache reports for a far failure while doing `what`. */
export function farError(what: string, error: unknown): unknown {
  if (isCastoreError(error) && PASSED_THROUGH.has(error.code)) return error;
  const why = error instanceof Error ? error.message : String(error);
  return new UnavailableError(`the far store is unavailable (${what}): ${why}`, { cause: error });
}
