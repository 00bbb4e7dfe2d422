// Every package as npm would publish it: the packed tarball passes publint (package.json against
// the files it ships) and attw's ESM-only profile (every export resolves to JavaScript and types
// under Node's and bundlers' resolution).
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { root } from "./support/pack-all.js";

const run = promisify(execFile);
const bin = (name: string) => join(root, "node_modules", ".bin", name);

describe.each(inject("packed"))("$name as packed", ({ tarball }) => {
  it("passes publint", async () => {
    const { stdout } = await run(bin("publint"), ["run", tarball, "--strict"], { encoding: "utf8" });
    expect(stdout).toContain("All good!");
  });

  it("passes attw (ESM-only profile)", async () => {
    // No Definitely Typed look-ups: the packages must carry every type they expose.
    const args = [tarball, "--profile", "esm-only", "--no-definitely-typed", "--format", "ascii", "--no-color"];
    await expect(run(bin("attw"), args, { encoding: "utf8" })).resolves.toBeDefined();
  });
});
