/**
 * Lets through at most `perWindow` calls per `windowMs`, then counts what it drops and reports the
 * count with the next call let through. Any client can make the daemon log (every bad request
 * would be a line): this keeps such lines from flooding the log or the disk.
 */
export function rateLimited<T>(
  perWindow: number,
  windowMs: number,
  emit: (value: T, dropped: number) => void,
  now: () => number = Date.now,
): (value: T) => void {
  let windowStart = Number.NEGATIVE_INFINITY;
  let passed = 0;
  let dropped = 0;
  return (value) => {
    const time = now();
    if (time - windowStart >= windowMs) {
      windowStart = time;
      passed = 0;
    }
    if (passed >= perWindow) {
      dropped++;
      return;
    }
    passed++;
    emit(value, dropped);
    dropped = 0;
  };
}
