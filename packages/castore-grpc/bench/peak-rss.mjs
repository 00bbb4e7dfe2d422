// The peak resident set of this process since it started, for the bench's processes of their own.
import { readFileSync } from "node:fs";

/**
 * Linux's VmHWM, the kernel's high-water mark, so no peak between two samples is missed; where
 * /proc is absent, getrusage's maxRSS (the same mark, in KiB). Bytes.
 */
export function processPeakRss() {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (match) return Number(match[1]) * 1024;
  } catch {}
  return process.resourceUsage().maxRSS * 1024;
}
