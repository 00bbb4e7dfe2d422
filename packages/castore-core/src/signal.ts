import { AbortedError } from "./errors.js";

/** Options every async method of castore accepts. */
export interface SignalOptions {
  /** Cancels the operation; it then rejects with an `Aborted` error and leaves nothing half-done. */
  signal?: AbortSignal | undefined;
}

/** Throws an `Aborted` error (with the signal's reason as cause) when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(signal);
}

/** The `Aborted` error that stands for a fired signal. */
export function abortedError(signal: AbortSignal): AbortedError {
  const reason: unknown = signal.reason;
  const detail = reason instanceof Error && reason.name !== "AbortError" ? `: ${reason.message}` : "";
  return new AbortedError(`the operation was aborted${detail}`, { cause: reason });
}

/**
 * Races `promise` against `signal`: rejects with an `Aborted` error as soon as the signal fires,
 * even if the underlying work cannot be interrupted (its eventual result is then ignored).
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(abortedError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
