import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";

const packageDir = join(import.meta.dirname, "..");

it("the README example runs and prints what it says", () => {
  const readme = readFileSync(join(packageDir, "README.md"), "utf8");
  const example = /## Example\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(example).toBeDefined();
  const file = join(packageDir, ".readme-example.mts");
  writeFileSync(file, example as string);
  try {
    const out = execFileSync(process.execPath, [file], { cwd: packageDir, encoding: "utf8" });
    // Lines ending in "// → text" promise that output, in order.
    const promised = [...(example as string).matchAll(/\/\/ → (.+)$/gm)].map((m) => m[1]);
    expect(promised.length).toBeGreaterThan(0);
    expect(out.trim().split("\n")).toEqual(promised);
  } finally {
    rmSync(file, { force: true });
  }
});
