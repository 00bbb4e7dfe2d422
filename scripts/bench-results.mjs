// One place where every package's benchmark records its headline figures, so that `pnpm bench` can
// end with a single summary table (`path | castore | limit | ratio`) and write the same figures as
// JSON (bench/results.json at the repository root) for comparing runs.
//
// A benchmark calls recordResult() once per row. Rows are appended as JSON lines to
// bench/rows.jsonl (benchmarks run one after another, so appends never interleave); scripts/dev.mjs
// clears that file before `pnpm bench` and turns it into the table and the JSON afterwards. A
// benchmark run on its own (`pnpm --filter PKG bench`) records too; nothing reads it until the next
// summary. Plain JavaScript with no dependencies: scripts/dev.mjs imports it before anything is built.
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
// CASTORE_BENCH_DIR moves the files elsewhere (the tests of this module use a temporary directory).
const directory = () => process.env.CASTORE_BENCH_DIR ?? join(root, "bench");
const rowsFile = () => join(directory(), "rows.jsonl");
const resultsFile = () => join(directory(), "results.json");

/**
 * @typedef {object} BenchResult
 * @property {string} path What was measured, e.g. "gRPC Read, TCP, 1 GiB".
 * @property {number} value castore's figure.
 * @property {number} limit The machine's limit for the same work, measured in the same run (or a fixed bound such as 256 MiB of RSS).
 * @property {string} limitName What the limit is, e.g. "raw node:http2", "dd conv=fsync", "bound".
 * @property {string} unit Unit of value and limit, e.g. "GB/s", "MiB".
 * @property {"higher" | "lower"} [better] "higher" (throughput, the default): ratio = value / limit, the goal a minimum; "lower" (memory, time): ratio = value / limit, the goal a maximum.
 * @property {number} [goal] The ratio the project aims for (0.8 = 80%).
 * @property {string} [note] Anything a reader of the table needs (the store, the blob size).
 */

/** Records one row of the summary. */
export function recordResult(result) {
  for (const key of ["value", "limit"]) {
    if (typeof result[key] !== "number" || !Number.isFinite(result[key])) {
      throw new TypeError(`recordResult: ${key} must be a finite number (row "${result.path}")`);
    }
  }
  const better = result.better ?? "higher";
  const ratio = result.limit === 0 ? Number.NaN : result.value / result.limit;
  // Compared at the table's precision, so 1.2 / 1.5 meets a goal of 80% as the table says it does.
  const shown = Math.round(ratio * 1e6) / 1e6;
  const met = result.goal === undefined ? undefined : better === "higher" ? shown >= result.goal : shown <= result.goal;
  mkdirSync(directory(), { recursive: true });
  const row = { ...result, better, ratio, met, package: process.env.npm_package_name ?? null };
  appendFileSync(rowsFile(), `${JSON.stringify(row)}\n`);
}

/** Forgets the rows of an earlier run. */
export function clearResults() {
  rmSync(rowsFile(), { force: true });
}

function formatNumber(value) {
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function formatRow(row) {
  const goal =
    row.goal === undefined
      ? ""
      : ` (goal ${row.better === "higher" ? "≥" : "≤"} ${Math.round(row.goal * 100)}%${row.met ? "" : ", missed"})`;
  return [
    row.path + (row.note ? ` (${row.note})` : ""),
    `${formatNumber(row.value)} ${row.unit}`,
    `${row.limitName}: ${formatNumber(row.limit)} ${row.unit}`,
    `${Math.round(row.ratio * 100)}%${goal}`,
  ];
}

/**
 * Prints the rows recorded since clearResults() as one Markdown table and writes them, with the
 * machine they ran on, to bench/results.json. Returns the number of rows.
 */
export function summarizeResults(print = console.log) {
  const rows = existsSync(rowsFile())
    ? readFileSync(rowsFile(), "utf8")
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line))
    : [];
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.versions.node,
  };
  writeFileSync(resultsFile(), `${JSON.stringify({ date: new Date().toISOString(), machine, rows }, null, 2)}\n`);
  const lines = ["| path | castore | limit | ratio |", "|---|---|---|---|"];
  for (const row of rows) lines.push(`| ${formatRow(row).join(" | ")} |`);
  print("");
  print(`Summary (${rows.length} rows; ${machine.cpus} cores, Node ${machine.node}; also in bench/results.json)`);
  for (const line of lines) print(line);
  return rows.length;
}
