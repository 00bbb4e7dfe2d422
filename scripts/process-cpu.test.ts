// The CPU figures the benchmarks print beside their rates (scripts/process-cpu.mjs), read from a
// real process's /proc entries.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain JavaScript module without declarations (it runs before anything is built)
import { liveThreadsCpuNs, processCpuSeconds } from "./process-cpu.mjs";

/** Keeps this thread busy for at least `ms` of wall time. */
function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {}
}

describe.skipIf(!existsSync("/proc/self/stat"))("process CPU from /proc", () => {
  it("counts this process's CPU time, which grows as it works", () => {
    const cpuBefore = process.cpuUsage();
    const before = processCpuSeconds(process.pid) as number;
    const threadsBefore = liveThreadsCpuNs(process.pid) as number;
    spin(200);
    const after = processCpuSeconds(process.pid) as number;
    const threadsAfter = liveThreadsCpuNs(process.pid) as number;
    const used = process.cpuUsage(cpuBefore);
    // The kernel's figures move with Node's own (getrusage), to within its 10 ms ticks.
    expect(after - before).toBeGreaterThan(0);
    expect(Math.abs(after - before - (used.user + used.system) / 1e6)).toBeLessThan(0.05);
    // The spin ran at least as long on the CPU as the wall time it took only if nothing preempted
    // it, so only the direction is certain on a busy machine.
    expect(threadsAfter).toBeGreaterThan(threadsBefore);
  });

  it("has no figure for a process that is gone", async () => {
    const child = spawn(process.execPath, ["-e", "0"]);
    await once(child, "exit");
    expect(processCpuSeconds(child.pid)).toBeUndefined();
    expect(liveThreadsCpuNs(child.pid)).toBeNaN();
  });
});
