// CPU time of a process for the benchmarks, from Linux's /proc. Plain JavaScript with no
// dependencies, like process-memory.mjs beside it.
import { readdirSync, readFileSync } from "node:fs";

/** The kernel's clock ticks per second for /proc/PID/stat (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/**
 * CPU seconds (user + system) a process has used since it started, its ended threads included
 * (they are added to the process when they end), in 10 ms steps; undefined where /proc is absent
 * or the process is gone.
 */
export function processCpuSeconds(pid) {
  try {
    // The name in parentheses may hold spaces: the fields start after its closing one.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ; // utime + stime
  } catch {
    return undefined;
  }
}

/**
 * CPU time in ns the live threads of a process have run (schedstat: ns, not 10 ms ticks), or NaN
 * without /proc. Threads that have ended are not counted: for a process whose threads live as long
 * as the measurement (a daemon's).
 */
export function liveThreadsCpuNs(pid) {
  try {
    let total = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      // A thread can end between the listing and the read; what it ran is then lost to both readings alike.
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
      } catch {}
    }
    return total;
  } catch {
    return Number.NaN;
  }
}
