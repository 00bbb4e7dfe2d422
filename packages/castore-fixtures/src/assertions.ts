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

/**
 * How long a call that must not hang (an abort, a close) may take before the case fails. Generous,
 * so a loaded machine does not fail a healthy backend: this catches hangs, it does not measure speed.
 */
export const SETTLE_TIMEOUT = 5_000;

/** What a promise settled with. */
export type Outcome<T> = { readonly value: T } | { readonly error: unknown };

/**
 * Waits for `promise` and returns what it settled with; fails the case if it has not settled within
 * `milliseconds`. For calls that must not hang, such as an abort or a close.
 */
export async function settled<T>(
  promise: Promise<T>,
  what: string,
  milliseconds = SETTLE_TIMEOUT,
): Promise<Outcome<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ConformanceFailure(`${what} did not settle within ${milliseconds} ms`)),
      milliseconds,
    );
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
      hung,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Like {@link settled}, and the promise must have resolved: returns its value. */
export async function resolves<T>(promise: Promise<T>, what: string): Promise<T> {
  const outcome = await settled(promise, what);
  if ("error" in outcome)
    throw new ConformanceFailure(`${what} failed with ${describe(outcome.error)}`, { cause: outcome.error });
  return outcome.value;
}

/** Like {@link settled}, and the promise must have rejected with a castore error carrying one of `codes`. */
export async function rejectsWith(
  promise: Promise<unknown>,
  codes: ErrorCode | readonly ErrorCode[],
  what: string,
): Promise<void> {
  const outcome = await settled(promise, what);
  await expectCode(() => ("error" in outcome ? Promise.reject(outcome.error) : outcome.value), codes, what);
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

/**
 * How many microtask turns {@link waitsOnTheOutside} lets pass. A call that needs nothing but
 * promise steps (an in-memory read: a few dozen turns) settles well within them.
 */
const MICROTASK_TURNS = 10_000;

/**
 * True when `promise` is still pending after every step it could take without the event loop: no
 * I/O callback or timer can run during microtask turns, so a call still pending then is waiting on
 * the outside (a file, a socket, a timer, a worker) and is certainly in flight. That holds on any
 * machine at any load: it is how the race cases put a read in flight by construction, not by timing.
 */
export async function waitsOnTheOutside(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  for (let turn = 0; turn < MICROTASK_TURNS && !done; turn++) await undefined;
  return !done;
}
