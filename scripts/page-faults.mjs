// Page faults of a burst pattern in a fresh process, for the tests of glibc's allocator priming
// (castore-core's primeMallocThresholds, and the entries that call it). Plain JavaScript with no
// dependencies, like process-memory.mjs beside it.
import { execFileSync } from "node:child_process";

/**
 * Whether this Node runs on glibc, the allocator the priming tunes (elsewhere it changes nothing).
 */
export const onGlibc = Boolean(process.report.getReport().header?.glibcVersionRuntime);

/**
 * Minor page faults a fresh Node process takes while it allocates, fills and frees 50 batches of
 * 64 buffers of 64 KiB (4 MiB each, freed at once, as a collection frees a burst of HTTP/2 frames),
 * after running `setup` (module code, awaited; run in `cwd`, so it imports what that package
 * depends on). Each batch is freed with transfer(0), which releases the memory at once, so the
 * count depends on the allocator alone, not on when garbage collection runs. Unprimed, glibc trims
 * its heap after each burst and the next one faults its pages in anew; primed, the first batch's
 * pages serve all the others.
 */
export function pageFaultsOfBursts(setup, cwd) {
  const program = `
    ${setup}
    const before = process.resourceUsage().minorPageFault;
    for (let round = 0; round < 50; round++) {
      const batch = [];
      for (let i = 0; i < 64; i++) {
        const buffer = new ArrayBuffer(64 * 1024);
        new Uint8Array(buffer).fill(1);
        batch.push(buffer);
      }
      for (const buffer of batch) buffer.transfer(0);
    }
    console.log(process.resourceUsage().minorPageFault - before);`;
  return Number(
    execFileSync(process.execPath, ["--input-type=module", "-e", program], { cwd, encoding: "utf8" }).trim(),
  );
}

/** The pages the bursts touch: 50 × 64 × 64 KiB. */
export const BURST_PAGES = (50 * 64 * 64 * 1024) / 4096;
