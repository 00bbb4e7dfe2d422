import { abortedError, throwIfAborted } from "castore-core/backend";

/** How failed requests are repeated: exponential backoff with full jitter, capped. */
export interface RetryPolicy {
  /** Attempts after the first one (0 = never retry). */
  readonly retries: number;
  /** Upper bound of the first backoff, in ms; doubles per retry. */
  readonly baseDelayMs: number;
  /** Upper bound of any one backoff, in ms. */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 4, baseDelayMs: 100, maxDelayMs: 3_000 };

/**
 * Runs `operation` until it succeeds, fails with an error `retryable` rejects, or the retries are
 * used up. Between attempts it waits a random time in [0, min(max, base·2^n)] ("full jitter"), so
 * many writers throttled at once do not come back in lockstep. The last error is rethrown together
 * with the number of attempts made.
 */
export async function withRetries<T>(
  operation: (signal: AbortSignal | undefined) => Promise<T>,
  retryable: (error: unknown) => boolean,
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(signal);
    try {
      return await operation(signal);
    } catch (error) {
      if (signal?.aborted) throw abortedError(signal);
      if (attempt >= policy.retries || !retryable(error)) throw new AttemptsError(error, attempt + 1);
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
      await sleep(Math.random() * ceiling, signal);
    }
  }
}

/** Carries the last failure of {@link withRetries} and how many attempts were made. */
export class AttemptsError {
  constructor(
    readonly error: unknown,
    readonly attempts: number,
  ) {}
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
