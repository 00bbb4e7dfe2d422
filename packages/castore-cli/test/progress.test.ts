import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { formatBytes, formatDuration, formatProgress, ProgressReporter } from "../src/progress.js";

describe("formatBytes", () => {
  it("uses binary units with three significant digits", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1024)).toBe("1.00 KiB");
    expect(formatBytes(1536)).toBe("1.50 KiB");
    expect(formatBytes(12.34 * 1024 * 1024)).toBe("12.3 MiB");
    expect(formatBytes(123.4 * 1024 * 1024)).toBe("123 MiB");
    expect(formatBytes(1024 ** 3)).toBe("1.00 GiB");
    expect(formatBytes(3 * 1024 ** 4)).toBe("3.00 TiB");
  });
});

describe("formatDuration", () => {
  it("prints m:ss, or h:mm:ss from an hour", () => {
    expect(formatDuration(0)).toBe("0:00");
    expect(formatDuration(7.4)).toBe("0:07");
    expect(formatDuration(754)).toBe("12:34");
    expect(formatDuration(3723)).toBe("1:02:03");
    expect(formatDuration(-3)).toBe("0:00");
  });
});

describe("formatProgress", () => {
  const MiB = 1024 * 1024;

  it("shows bytes, total, percent, rate and ETA when the size is known", () => {
    const line = formatProgress("put", { bytes: 25 * MiB, total: 100 * MiB, elapsedMs: 1000 });
    expect(line).toBe("put  25.0 MiB / 100 MiB  25%  25.0 MiB/s  ETA 0:03");
  });

  it("shows bytes and rate only when the size is unknown", () => {
    expect(formatProgress("cat", { bytes: 10 * MiB, elapsedMs: 2000 })).toBe("cat  10.0 MiB  5.00 MiB/s");
  });

  it("leaves out rate and ETA before anything moved", () => {
    expect(formatProgress("put", { bytes: 0, total: 10 * MiB, elapsedMs: 0 })).toBe("put  0 B / 10.0 MiB  0%");
    expect(formatProgress("cat", { bytes: 0, elapsedMs: 500 })).toBe("cat  0 B");
  });

  it("drops the ETA at the end and caps percent at 100", () => {
    expect(formatProgress("put", { bytes: 4 * MiB, total: 4 * MiB, elapsedMs: 1000 })).toBe(
      "put  4.00 MiB / 4.00 MiB  100%  4.00 MiB/s",
    );
    expect(formatProgress("put", { bytes: 5 * MiB, total: 4 * MiB, elapsedMs: 1000 })).toContain("100%");
  });

  it("treats a zero total as unknown (no division by zero)", () => {
    expect(formatProgress("put", { bytes: 0, total: 0, elapsedMs: 10 })).toBe("put  0 B");
  });
});

describe("ProgressReporter", () => {
  // The reporter draws on a timer and measures elapsed time: fake clocks make both exact.
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function recorder(columns?: number) {
    const writes: string[] = [];
    return { writes, stream: { write: (text: string) => writes.push(text), isTTY: true, columns } };
  }

  it("draws nothing when disabled", () => {
    const { writes, stream } = recorder();
    const progress = new ProgressReporter(stream, { label: "put", enabled: false, delayMs: 0, intervalMs: 5 });
    progress.add(100);
    vi.advanceTimersByTime(40);
    progress.finish();
    expect(writes).toEqual([]);
    expect(progress.bytes).toBe(100);
  });

  it("redraws one line in place and erases it on finish", () => {
    const { writes, stream } = recorder();
    const progress = new ProgressReporter(stream, {
      label: "cat",
      total: 2048,
      enabled: true,
      delayMs: 0,
      intervalMs: 5,
    });
    progress.add(1024);
    vi.advanceTimersByTime(40);
    progress.finish();
    expect(writes.length).toBeGreaterThanOrEqual(2);
    expect(writes[0]?.startsWith("\r\x1b[2Kcat  1.00 KiB / 2.00 KiB  50%")).toBe(true);
    expect(writes.at(-1)).toBe("\r\x1b[2K");
  });

  it("waits for the delay before the first line, so short transfers draw nothing", () => {
    const { writes, stream } = recorder();
    const progress = new ProgressReporter(stream, { label: "put", enabled: true, delayMs: 10_000, intervalMs: 5 });
    progress.add(1);
    vi.advanceTimersByTime(40);
    progress.finish();
    expect(writes).toEqual([]);
  });

  it("cuts the line to the terminal width", () => {
    const { writes, stream } = recorder(12);
    const progress = new ProgressReporter(stream, { label: "put", enabled: true, delayMs: 0, intervalMs: 5 });
    progress.add(5 * 1024 * 1024);
    vi.advanceTimersByTime(40);
    progress.finish();
    expect(writes[0]).toBe("\r\x1b[2Kput  5.00 M");
  });
});
