import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const packageDir = fileURLToPath(new URL("../..", import.meta.url));

/**
 * The end-to-end tests spawn dist/bin.js. Turbo's test task depends on build, so dist/ is normally
 * current and this does nothing (the test run writes no outputs turbo does not know about). Only when
 * a source file is newer than its output, as after an edit and a bare `vitest run`, is dist rebuilt,
 * so the tests never run stale code.
 */
export default function setup(): void {
  const stale = staleSources();
  if (stale.length === 0) return;
  process.stderr.write(
    `castore-cli: dist/ is older than ${stale[0]}${stale.length > 1 ? " and others" : ""}; building it\n`,
  );
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: packageDir, stdio: "inherit" });
}

/** Sources under src/ whose compiled file in dist/ is missing or older (relative paths). */
function staleSources(): string[] {
  const stale: string[] = [];
  for (const source of typescriptFiles(join(packageDir, "src"))) {
    const output = join(packageDir, "dist", relative(join(packageDir, "src"), source).replace(/\.ts$/, ".js"));
    const built = statSync(output, { throwIfNoEntry: false });
    if (!built || built.mtimeMs < statSync(source).mtimeMs) stale.push(relative(packageDir, source));
  }
  return stale;
}

function typescriptFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts"))
    .map((entry) => join(entry.parentPath, entry.name));
}
