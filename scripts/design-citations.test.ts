// Comments, protos and READMEs cite the design by section ("docs/design.md §5"): every citation
// must name a section that exists, and nothing may cite a design document outside the repository.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const design = readFileSync(join(root, "docs", "design.md"), "utf8");
const sections = new Set([...design.matchAll(/^## (\d+)\. /gm)].map((match) => match[1]));
const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8" })
  .split("\0")
  .filter((file) => /\.(ts|mts|mjs|js|proto|md|json|yaml)$/.test(file) && file !== "pnpm-lock.yaml");

it("every docs/design.md §n citation names a section of docs/design.md", () => {
  const broken: string[] = [];
  for (const file of tracked) {
    const text = readFileSync(join(root, file), "utf8");
    for (const match of text.matchAll(/design\.md(?:\]\([^)]*\))? §(\d+)/g)) {
      if (!sections.has(match[1] as string)) broken.push(`${file}: §${match[1]}`);
    }
  }
  expect(sections.size).toBeGreaterThanOrEqual(9);
  expect(broken).toEqual([]);
});

it("nothing cites a design document outside the repository", () => {
  const outside = tracked.filter((file) => /DESIGN\.md|\.\.\/shared\//.test(readFileSync(join(root, file), "utf8")));
  expect(outside.filter((file) => file !== "scripts/design-citations.test.ts")).toEqual([]);
});
