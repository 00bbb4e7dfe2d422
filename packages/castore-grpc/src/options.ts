import { checkOptionalInteger } from "castore-core/backend";

/** Largest HTTP/2 flow-control window (RFC 9113 §6.9.1). */
export const MAX_WINDOW_BYTES = 2 ** 31 - 1;
/** Largest gRPC message: its length prefix has 32 bits. */
export const MAX_MESSAGE_BYTES = 2 ** 32 - 1;

/**
 * Checks a numeric option of the client or the server: undefined (the default applies) or an
 * integer from 1 to `max`. Anything else is an InvalidArgument error naming the option, raised
 * before any connection exists (a zero message size would otherwise hang writes, for one).
 */
export function positiveInteger(
  name: string,
  value: number | undefined,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  return checkOptionalInteger(name, value, 1, max);
}
