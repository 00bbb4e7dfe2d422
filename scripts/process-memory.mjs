// Memory figures of a process for the benchmarks: Linux's /proc/PID/status, where the kernel keeps
// the high-water mark (VmHWM), so no peak between two samples is missed. Plain JavaScript with no
// dependencies, like bench-results.mjs beside it.
import { readFileSync } from "node:fs";

/**
 * A memory field of /proc/PID/status (VmHWM, VmRSS) in bytes; undefined where /proc is absent or
 * the process is gone.
 */
export function procStatusBytes(field, pid = "self") {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * This process's peak RSS since it started, in bytes: VmHWM, or getrusage's maxRSS where /proc is
 * absent (which survives exec, so there a child may report its parent's peak).
 */
export function processPeakRss() {
  return procStatusBytes("VmHWM") ?? process.resourceUsage().maxRSS * 1024;
}
