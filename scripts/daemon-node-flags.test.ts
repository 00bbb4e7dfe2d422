import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain JavaScript module without declarations (it runs before anything is built)
import { DAEMON_NODE_FLAGS } from "./daemon-node-flags.mjs";

// Allocates young objects for a while and prints the largest new space V8 gave itself, in bytes.
const CHURN = `
const v8 = require("node:v8");
let kept = [];
let largest = 0;
for (let i = 0; i < 4e6; i++) {
  kept.push({ i });
  if (kept.length > 1e5) kept = [];
  if (i % 1e4 === 0) {
    const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
    largest = Math.max(largest, space.space_size);
  }
}
console.log(largest);
`;

describe("the daemon's Node flags (npm start)", () => {
  it("are accepted by this Node and keep the young generation at two semi-spaces of 4 MiB", () => {
    // A misspelt flag makes Node refuse to start (exit 9), which would break `npm start`.
    const largest = Number(
      execFileSync(process.execPath, [...(DAEMON_NODE_FLAGS as string[]), "-e", CHURN], { encoding: "utf8" }),
    );
    expect(largest).toBeGreaterThan(0);
    expect(largest).toBeLessThanOrEqual(2 * 4 * 2 ** 20);
  });
});
