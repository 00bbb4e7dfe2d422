// A durable put (synchronous: full) makes its packs durable before the blob that lists them
// can be: watched with strace in a real process, every pack it created and every directory
// that gained one is synced, and each sync has finished before the commit syncs SQLite's log.
// Needs strace (scripts/ensure-strace.mjs installs it where it can); skipped with the reason otherwise.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "./support/temp.js";

const STRACE = "/usr/bin/strace";
const whyNot =
  process.platform !== "linux"
    ? "strace is Linux only"
    : existsSync(STRACE)
      ? ""
      : "strace is not installed (scripts/ensure-strace.mjs installs it as root)";
if (whyNot) console.warn(`durability-order.test.ts skipped: ${whyNot}`);

/** A system call as strace saw it: where in the log it started and finished, on which thread. */
interface Call {
  readonly name: string;
  readonly args: string;
  readonly start: number;
  finish: number;
  result: string;
}

/**
 * The calls of an `strace -f` log, with calls split across lines (`<unfinished ...>`) joined up.
 * strace pads the thread ids to one width, so a short one is followed by more than one space.
 */
function parseLog(log: string): Call[] {
  const calls: Call[] = [];
  const pending = new Map<string, Call>();
  for (const [index, line] of log.split("\n").entries()) {
    const resumed = /^(\d+)\s+<\.\.\. (\w+) resumed>.*= (-?\d+)/.exec(line);
    if (resumed) {
      const call = pending.get(resumed[1] as string);
      if (call) {
        call.finish = index;
        call.result = resumed[3] as string;
        pending.delete(resumed[1] as string);
      }
      continue;
    }
    const started = /^(\d+)\s+(\w+)\((.*?)(?: <unfinished \.\.\.>$|\)\s+= (-?\d+))/.exec(line);
    if (!started) continue;
    const call: Call = {
      name: started[2] as string,
      args: started[3] as string,
      start: index,
      finish: index,
      result: started[4] ?? "",
    };
    if (started[4] === undefined) pending.set(started[1] as string, call);
    calls.push(call);
  }
  return calls;
}

describe.skipIf(whyNot !== "")("the order of a durable put's syncs", () => {
  it("every pack and every directory that gained one is synced before the commit syncs the log", () => {
    const dir = tempDir();
    const file = join(dir, "blobs.sqlite");
    const log = join(dir, "strace.log");
    const child = spawnSync(
      STRACE,
      [
        "-f",
        "-qq",
        "-o",
        log,
        "-e",
        "trace=openat,fsync,fdatasync",
        process.execPath,
        "test/children/put-one.mjs",
        file,
        String(256 * 1024),
      ],
      { cwd: join(import.meta.dirname, ".."), encoding: "utf8" },
    );
    expect(child.status, child.stderr).toBe(0);
    const calls = parseLog(readFileSync(log, "utf8"));
    expect(
      calls.filter((call) => call.name === "openat").length,
      "openat calls parsed from strace's log",
    ).toBeGreaterThan(0);

    // Which path each file descriptor stands for when a sync starts (descriptors are reused).
    const pathOf = new Map<string, string>();
    const synced: { path: string; call: Call }[] = [];
    const created: string[] = [];
    for (const call of [...calls].sort((a, b) => a.start - b.start)) {
      if (call.name === "openat") {
        const path = /"([^"]*)"/.exec(call.args)?.[1];
        if (!path || Number(call.result) < 0) continue;
        pathOf.set(call.result, path);
        if (path.startsWith(`${file}-chunks/`) && call.args.includes("O_CREAT")) created.push(path);
      } else if (call.name === "fsync" || call.name === "fdatasync") {
        const path = pathOf.get(call.args.trim());
        if (path) synced.push({ path, call });
      }
    }
    expect(created.length).toBeGreaterThan(4); // 256 KiB in packs of about 32 KiB
    const firstCreated =
      calls.find((call) => call.name === "openat" && call.args.includes(`${file}-chunks/`))?.start ?? 0;
    // The blob's commit: the first sync of the log after the packs began (each batch before
    // it commits without a sync).
    const commit = synced.find(({ path, call }) => path === `${file}-wal` && call.start > firstCreated)?.call;
    expect(commit, "the commit synced the log").toBeDefined();
    const syncedBefore = new Set(
      synced.filter(({ call }) => call.result === "0" && call.finish < (commit as Call).start).map(({ path }) => path),
    );
    // The chunk directories, and the store's own directory, which gained the first of them.
    const directories = new Set([dir, `${file}-chunks`, ...created.map((path) => dirname(path))]);
    expect(
      [...created].filter((path) => !syncedBefore.has(path)),
      "packs not synced before the commit",
    ).toEqual([]);
    expect(
      [...directories].filter((path) => !syncedBefore.has(path)),
      "directories not synced before the commit",
    ).toEqual([]);
  });
});
