import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const packageDir = join(import.meta.dirname, "..");
const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;
if (!glibc) console.log("SKIPPED primeMallocThresholds: this Node does not run on glibc, whose allocator it tunes");

/**
 * Page faults taken by a fresh process while it allocates, fills and frees 50 batches of 64 buffers
 * of 64 KiB (4 MiB each, freed at once, as a collection frees a burst of HTTP/2 frames), optionally
 * after priming. Each batch is freed with transfer(0), which releases the memory at once, so the
 * count depends on the allocator alone, not on when garbage collection runs.
 */
function pageFaultsOfBursts(prime: boolean): number {
  const program = `
    import { primeMallocThresholds } from "castore-core/node";
    if (${prime}) primeMallocThresholds();
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
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", program], {
    cwd: packageDir,
    encoding: "utf8",
  });
  return Number(out.trim());
}

describe.skipIf(!glibc)("primeMallocThresholds (glibc)", () => {
  it("lets freed memory be reused instead of faulted in again for every burst", () => {
    const plain = pageFaultsOfBursts(false);
    const primed = pageFaultsOfBursts(true);
    // Primed, the pages of the first batch serve all the others: a few thousand faults for the
    // 51 200 pages the bursts touch (about 1 400 here). Unprimed, glibc trims the heap after each
    // burst, so batches fault their pages in anew, but how many varies from run to run (22 600 to
    // 48 500 here): when V8 frees a batch late, the next one reuses some of it. So the bound is on
    // the primed count, and the unprimed one only has to show the difference.
    const touchedPages = (50 * 64 * 64 * 1024) / 4096;
    expect(primed).toBeLessThan(touchedPages / 10);
    expect(plain).toBeGreaterThan(3 * primed);
  });
});

it("primeMallocThresholds does nothing on a runtime without ArrayBuffer.prototype.transfer (older than Node 21)", () => {
  const program = `
    delete ArrayBuffer.prototype.transfer;
    const { primeMallocThresholds } = await import("castore-core/node");
    primeMallocThresholds();
    console.log("ok");`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", program], {
    cwd: packageDir,
    encoding: "utf8",
  });
  expect(out.trim()).toBe("ok");
});
