// Every README has an "## Example" block, and every ts block of a README that promises output
// ("// → …" comments: the example, castore-core's backend guide) is a contract: it must run as
// written, on the built packages, and print what its comments promise, in order.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const packagesDir = join(root, "packages");
const packages = readdirSync(packagesDir).filter((name) => existsSync(join(packagesDir, name, "README.md")));

describe.each(packages)("%s README", (name) => {
  const dir = join(packagesDir, name);
  const readme = readFileSync(join(dir, "README.md"), "utf8");
  const example = /^## Example\n[\s\S]*?```ts\n([\s\S]*?)```/m.exec(readme)?.[1];
  const runnable = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)]
    .map((match) => match[1] as string)
    .filter((block) => /\/\/ → /.test(block));

  it("says it is ESM-only and which Node versions it runs on", () => {
    const { engines } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    expect(readme).toContain("ESM only");
    expect(readme).toContain(engines.node);
  });

  it("has an example", () => {
    expect(example, `${name}/README.md needs a "## Example" section with a ts code block`).toBeDefined();
  });

  it("runs its example, which promises output", () => {
    expect(runnable).toContain(example);
  });

  // Each example starts Node and loads the built packages: about a second on a quiet machine; the
  // limit (vitest's testTimeout in scripts/vitest.config.ts) is far from that on a busy one.
  it.each(runnable.map((block, index) => [index + 1, block] as const))(
    "runs block %i and prints what it promises",
    async (index, block) => {
      const promised = [...block.matchAll(/\/\/ → (.+)$/gm)].map((m) => m[1]);
      const file = join(dir, `.readme-example-${index}.mts`);
      writeFileSync(file, block);
      try {
        const { stdout } = await promisify(execFile)(process.execPath, [file], { cwd: dir, encoding: "utf8" });
        expect(stdout.trim().split("\n").slice(0, promised.length)).toEqual(promised);
      } finally {
        rmSync(file, { force: true });
      }
    },
  );
});
