import { InvalidArgumentError } from "./errors.js";

/** Whether `value` is a safe integer within [min, max]. */
export function isIntegerInRange(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max;
}

/** The words for a range, as error messages use them: "a positive integer", "an integer from 1 to 8". */
export function describeIntegerRange(min: number, max: number): string {
  if (max === Number.MAX_SAFE_INTEGER && min === 1) return "a positive integer";
  if (max === Number.MAX_SAFE_INTEGER && min === 0) return "a non-negative integer";
  return `an integer from ${min} to ${max}`;
}

/**
 * The one check for an integer argument or option (sizes, counts, timeouts): returns `value` when it
 * is a safe integer within [min, max] (1 to `Number.MAX_SAFE_INTEGER` by default), and otherwise
 * throws an `InvalidArgument` error that names it: "window must be a positive integer, got 0".
 */
export function checkInteger(name: string, value: unknown, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (!isIntegerInRange(value, min, max)) {
    throw new InvalidArgumentError(`${name} must be ${describeIntegerRange(min, max)}, got ${String(value)}`);
  }
  return value;
}

/** {@link checkInteger} for an optional setting: `undefined` (the default applies) passes through. */
export function checkOptionalInteger(
  name: string,
  value: unknown,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  return value === undefined ? undefined : checkInteger(name, value, min, max);
}
