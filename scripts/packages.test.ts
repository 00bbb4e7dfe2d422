// Every package as npm would publish it: the packed tarball passes publint (package.json against
// the files it ships) and attw's ESM-only profile (every export resolves to JavaScript and types
// under Node's and bundlers' resolution).
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { root } from "./support/pack-all.js";

const run = promisify(execFile);
const bin = (name: string) => join(root, "node_modules", ".bin", name);

const license = readFileSync(join(root, "LICENSE"), "utf8");

describe.each(inject("packed"))("$name as packed", ({ dir, tarball }) => {
  it("ships the MIT licence, README, CHANGELOG and no workspace-only version ranges", async () => {
    const { stdout: listing } = await run("tar", ["-tzf", tarball], { encoding: "utf8" });
    const files = listing.split("\n");
    for (const file of ["package/LICENSE", "package/README.md", "package/CHANGELOG.md", "package/dist/index.js"]) {
      expect(files).toContain(file);
    }
    const read = async (file: string) =>
      (await run("tar", ["-xzOf", tarball, `package/${file}`], { encoding: "utf8", maxBuffer: 1 << 24 })).stdout;
    expect(await read("LICENSE")).toBe(license);
    expect(readFileSync(join(dir, "LICENSE"), "utf8")).toBe(license);
    const manifest = await read("package.json");
    expect(manifest).not.toMatch(/"(workspace|catalog):/);
    const { repository, homepage, bugs, engines, license: spdx } = JSON.parse(manifest);
    expect({ spdx, hasRepository: !!repository?.url, hasHomepage: !!homepage, hasBugs: !!bugs?.url }).toEqual({
      spdx: "MIT",
      hasRepository: true,
      hasHomepage: true,
      hasBugs: true,
    });
    // The Node range is the project's, or a stricter one the package needs (castore-objectstore's
    // zstd came with Node 22.15); either way its README's requirements line states that very range.
    const requirements = (await read("README.md")).split("\n").find((line) => line.startsWith("**Requirements:**"));
    expect(requirements).toContain(`Node \`${engines.node}\``);
    expect(engines.node).toMatch(/^\^22\.\d+\.0 \|\| \^24\.0\.0 \|\| >=26\.0\.0$/);
  });

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
