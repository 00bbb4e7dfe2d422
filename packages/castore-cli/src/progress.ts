/**
 * Transfer progress on stderr for `put` and `cat`: bytes so far, rate, and percent and ETA when the
 * size is known. Drawn only on a terminal (never into a pipe or a log file) and only once a transfer
 * has run for a moment, so small blobs do not flicker a line.
 */

export interface ProgressSnapshot {
  /** Bytes transferred so far. */
  bytes: number;
  /** Total bytes, when known. */
  total?: number | undefined;
  /** Milliseconds since the transfer started. */
  elapsedMs: number;
}

const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** "0 B", "999 B", "1.5 KiB", "12.3 MiB", "123 MiB", "1.00 GiB". */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${value} B`;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** "0:07", "12:34", "1:02:03". */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/**
 * One progress line, e.g. `put  12.3 MiB / 100 MiB  12%  45.6 MiB/s  ETA 0:02`, or without the size:
 * `cat  12.3 MiB  45.6 MiB/s`. The rate is the average since the start; it and the ETA are left out
 * until there is something to average.
 */
export function formatProgress(label: string, snapshot: ProgressSnapshot): string {
  const { bytes, total, elapsedMs } = snapshot;
  const parts = [label];
  const known = total !== undefined && total > 0;
  parts.push(known ? `${formatBytes(bytes)} / ${formatBytes(total)}` : formatBytes(bytes));
  if (known) parts.push(`${Math.min(100, Math.floor((bytes / total) * 100))}%`);
  const rate = elapsedMs > 0 ? (bytes * 1000) / elapsedMs : 0;
  if (rate > 0) {
    parts.push(`${formatBytes(rate)}/s`);
    if (known && bytes < total) parts.push(`ETA ${formatDuration((total - bytes) / rate)}`);
  }
  return parts.join("  ");
}

/** The parts of a stream the reporter draws on (process.stderr on a terminal). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean | undefined;
  columns?: number | undefined;
}

export interface ProgressOptions {
  label: string;
  total?: number | undefined;
  /** Draw at all (the caller decides: stderr is a terminal and --quiet is not set). */
  enabled: boolean;
  /** Wait this long before the first line. Default 500 ms. */
  delayMs?: number;
  /** Redraw at most this often. Default 200 ms. */
  intervalMs?: number;
}

/** Counts bytes and redraws one line in place on a timer; `finish()` erases it. */
export class ProgressReporter {
  readonly #stream: ProgressStream;
  #label: string;
  readonly #start = performance.now();
  readonly #timer: NodeJS.Timeout | undefined;
  #total: number | undefined;
  #bytes = 0;
  #drawn = false;

  constructor(stream: ProgressStream, options: ProgressOptions) {
    this.#stream = stream;
    this.#label = options.label;
    this.#total = options.total;
    if (!options.enabled) return;
    const delay = options.delayMs ?? 500;
    const interval = options.intervalMs ?? 200;
    this.#timer = setInterval(() => {
      if (performance.now() - this.#start >= delay) this.#draw();
    }, interval);
    // Progress must never keep the process alive.
    this.#timer.unref();
  }

  /** Bytes counted so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Counts `count` more bytes. */
  add(count: number): void {
    this.#bytes += count;
  }

  /** Sets the total once it becomes known. */
  setTotal(total: number | undefined): void {
    this.#total = total;
  }

  /** Changes what the line starts with (e.g. a count of items done), from the next redraw. */
  setLabel(label: string): void {
    this.#label = label;
  }

  /** Erases the line so that other output can go to the terminal; the next tick draws it again. */
  clear(): void {
    if (this.#drawn) this.#stream.write("\r\x1b[2K");
    this.#drawn = false;
  }

  /** Stops drawing and erases the line, leaving the terminal as it was. */
  finish(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.clear();
  }

  #draw(): void {
    let line = formatProgress(this.#label, {
      bytes: this.#bytes,
      total: this.#total,
      elapsedMs: performance.now() - this.#start,
    });
    const width = this.#stream.columns;
    if (width !== undefined && width > 1 && line.length >= width) line = line.slice(0, width - 1);
    this.#stream.write(`\r\x1b[2K${line}`);
    this.#drawn = true;
  }
}
