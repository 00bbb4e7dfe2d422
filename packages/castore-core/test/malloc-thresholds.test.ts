import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BURST_PAGES, onGlibc, pageFaultsOfBursts } from "../../../scripts/page-faults.mjs";

const packageDir = join(import.meta.dirname, "..");
if (!onGlibc) console.log("SKIPPED primeMallocThresholds: this Node does not run on glibc, whose allocator it tunes");

describe.skipIf(!onGlibc)("primeMallocThresholds (glibc)", () => {
  it("lets freed memory be reused instead of faulted in again for every burst", () => {
    const plain = pageFaultsOfBursts("", packageDir);
    const primed = pageFaultsOfBursts(
      'const { primeMallocThresholds } = await import("castore-core/node"); primeMallocThresholds();',
      packageDir,
    );
    // Primed, the pages of the first batch serve all the others: a few thousand faults for the
    // 51 200 pages the bursts touch (about 1 400 here). Unprimed, glibc trims the heap after each
    // burst, so batches fault their pages in anew, but how many varies from run to run (22 600 to
    // 48 500 here): when V8 frees a batch late, the next one reuses some of it. So the bound is on
    // the primed count, and the unprimed one only has to show the difference.
    expect(primed).toBeLessThan(BURST_PAGES / 10);
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
