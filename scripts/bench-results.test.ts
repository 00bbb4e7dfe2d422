// The summary `pnpm bench` ends with: rows recorded by separate benchmark processes come out as one
// table and one JSON file, with ratios and goals computed the same way for every package.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
// @ts-expect-error plain JavaScript module without declarations (it runs before anything is built)
import { clearResults, recordResult, summarizeResults } from "./bench-results.mjs";

describe("bench results", () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), "castore-bench-"));
    process.env.CASTORE_BENCH_DIR = directory;
  });
  afterEach(() => {
    delete process.env.CASTORE_BENCH_DIR;
    rmSync(directory, { recursive: true, force: true });
  });

  it("turns recorded rows into one table and results.json", () => {
    recordResult({
      path: "gRPC Read, TCP",
      value: 1.2,
      limit: 1.5,
      limitName: "raw node:http2",
      unit: "GB/s",
      goal: 0.8,
    });
    recordResult({ path: "memory put", value: 0.5, limit: 1, limitName: "goal", unit: "GB/s", goal: 1 });
    recordResult({
      path: "peak RSS",
      value: 300,
      limit: 256,
      limitName: "bound",
      unit: "MiB",
      better: "lower",
      goal: 1,
    });
    const lines: string[] = [];
    expect(summarizeResults((line: string) => lines.push(line))).toBe(3);
    expect(lines).toContain("| path | castore | limit | ratio |");
    expect(lines).toContain("| gRPC Read, TCP | 1.20 GB/s | raw node:http2: 1.50 GB/s | 80% (goal ≥ 80%) |");
    expect(lines).toContain("| memory put | 0.50 GB/s | goal: 1.00 GB/s | 50% (goal ≥ 100%, missed) |");
    expect(lines).toContain("| peak RSS | 300 MiB | bound: 256 MiB | 117% (goal ≤ 100%, missed) |");
    const results = JSON.parse(readFileSync(join(directory, "results.json"), "utf8"));
    expect(results.rows.map((row: { met: boolean }) => row.met)).toEqual([true, false, false]);
    expect(results.machine.cpus).toBeGreaterThan(0);
  });

  it("starts afresh after clearResults and refuses a row without figures", () => {
    recordResult({ path: "old", value: 1, limit: 1, limitName: "x", unit: "GB/s" });
    clearResults();
    expect(summarizeResults(() => {})).toBe(0);
    expect(() => recordResult({ path: "broken", value: Number.NaN, limit: 1, limitName: "x", unit: "GB/s" })).toThrow(
      /value must be a finite number/,
    );
  });
});
