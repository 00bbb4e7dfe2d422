import { type B3Digest, type ErrorCode, isCastoreError } from "castore-core";

/**
 * Runner-independent assertions for the conformance cases. They throw a ConformanceFailure with a
 * message that says what the backend did wrong, without dumping megabytes of blob data.
 */
export class ConformanceFailure extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConformanceFailure";
  }
}

export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ConformanceFailure(message);
}

export function checkEqual<T>(actual: T, expected: T, what: string): void {
  if (!Object.is(actual, expected)) {
    throw new ConformanceFailure(`${what}: expected ${describe(expected)}, got ${describe(actual)}`);
  }
}

/** Byte-for-byte equality, reporting the length or the first differing offset. */
export function checkBytes(actual: Uint8Array | undefined, expected: Uint8Array, what: string): void {
  if (!(actual instanceof Uint8Array)) throw new ConformanceFailure(`${what}: expected bytes, got ${describe(actual)}`);
  const mismatch = firstMismatch(actual, expected);
  if (mismatch !== -1) {
    throw new ConformanceFailure(
      actual.length !== expected.length && mismatch === Math.min(actual.length, expected.length)
        ? `${what}: expected ${expected.length} bytes, got ${actual.length} (equal up to there)`
        : `${what}: bytes differ at offset ${mismatch} (expected ${expected[mismatch]}, got ${actual[mismatch]}; lengths ${expected.length} expected, ${actual.length} got)`,
    );
  }
}

/** Offset of the first difference (a length difference counts at the shorter length), or -1. */
export function firstMismatch(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

export function checkDigest(actual: B3Digest | undefined, expected: B3Digest, what: string): void {
  if (actual === undefined || typeof actual.equals !== "function" || !actual.equals(expected)) {
    throw new ConformanceFailure(`${what}: expected digest ${expected}, got ${describe(actual)}`);
  }
}

/**
 * Runs `action` and requires it to fail with a castore error carrying one of `codes` (errors are
 * matched by `code`, never by class). Returns the error.
 */
export async function expectCode(
  action: () => Promise<unknown> | unknown,
  codes: ErrorCode | readonly ErrorCode[],
  what: string,
): Promise<Error> {
  const wanted: readonly ErrorCode[] = typeof codes === "string" ? [codes] : codes;
  let result: unknown;
  try {
    result = await action();
  } catch (error) {
    if (wanted.some((code) => isCastoreError(error, code))) return error as Error;
    const got = isCastoreError(error) ? `a ${error.code} error` : describe(error);
    throw new ConformanceFailure(`${what}: expected a ${wanted.join(" or ")} error, got ${got}`, { cause: error });
  }
  throw new ConformanceFailure(
    `${what}: expected a ${wanted.join(" or ")} error, but it succeeded with ${describe(result)}`,
  );
}

function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === "string") return JSON.stringify(value);
  if (value === undefined || value === null || typeof value !== "object") return String(value);
  return typeof value.toString === "function" && value.toString !== Object.prototype.toString
    ? String(value)
    : Object.prototype.toString.call(value);
}
