#!/usr/bin/env node
// The whole suite behind `npm test` (and `pnpm test`): every step runs even when an earlier one
// failed, so one broken package never hides the others' results. It ends with one plain line,
// "N passed, N failed, N skipped", summed from the JSON reports vitest writes per package (not from
// its human output), plus one failure for each step outside the tests that failed (lint, codegen,
// typecheck) and for each package whose tests did not report at all (its build failed, vitest
// crashed). The same line goes to test-results/summary.txt for .ci/run.
//
// Plain JavaScript with no dependencies: dev.mjs runs it on the toolchain's Node.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = (name) => join(root, "node_modules", ".bin", name);
const extraTurboArgs = process.argv.slice(2);

/** Where each vitest run writes its JSON report (the package scripts and the root config agree). */
const REPORT = join("test-results", "vitest.json");
const packagesDir = join(root, "packages");
const testedPackages = readdirSync(packagesDir).filter((name) => {
  const manifest = join(packagesDir, name, "package.json");
  return existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).scripts?.test !== undefined;
});
const reports = [
  ...testedPackages.map((name) => ({ name, file: join(packagesDir, name, REPORT) })),
  { name: "scripts (READMEs, packages, consumers)", file: join(root, REPORT) },
];

/** Steps outside the tests that failed, by name. */
const failedSteps = [];

function step(name, command, args) {
  console.error(`\n── ${name}: ${[relative(root, command), ...args].join(" ")}`);
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  const ok = !result.error && result.status === 0;
  if (result.error) console.error(`${name}: cannot run ${command}: ${result.error.message}`);
  return ok;
}

function check(name, command, args) {
  if (!step(name, command, args)) failedSteps.push(name);
}

/** `pnpm generate` must reproduce the committed code exactly. */
function checkGeneratedCode() {
  if (!step("codegen", bin("turbo"), ["run", "generate", "--output-logs=errors-only"])) {
    failedSteps.push("codegen");
    return;
  }
  if (!existsSync(join(root, ".git"))) {
    console.error("codegen: not a git checkout, nothing to compare the generated code with");
    return;
  }
  const generated = ["packages/*/src/gen"];
  const diff = spawnSync("git", ["diff", "--exit-code", "--stat", "--", ...generated], { cwd: root, stdio: "inherit" });
  const untracked = spawnSync("git", ["ls-files", "--others", "--exclude-standard", "--", ...generated], {
    cwd: root,
    encoding: "utf8",
  });
  if (diff.status !== 0 || untracked.status !== 0 || untracked.stdout.trim() !== "") {
    console.error("codegen: `pnpm generate` changed the committed code; regenerate and commit it:");
    if (untracked.stdout) console.error(untracked.stdout);
    failedSteps.push("codegen (generated code differs from the committed code)");
  }
}

for (const { file } of reports) rmSync(file, { force: true });

check("lint", bin("biome"), ["check", "."]);
checkGeneratedCode();
check("typecheck", bin("turbo"), ["run", "typecheck", "--continue", "--output-logs=errors-only", ...extraTurboArgs]);
check("typecheck scripts", bin("tsc"), ["-p", "scripts", "--noEmit"]);
// Exit statuses of the test runs are not needed: their reports say what passed and what did not.
step("tests", bin("turbo"), ["run", "test", "--continue", "--output-logs=full", ...extraTurboArgs]);
// README examples, package checks and consumer projects run on the built packages, after every
// package's own tests.
step("scripts", bin("vitest"), ["run", "--config", "scripts/vitest.config.ts"]);

const total = { passed: 0, failed: 0, skipped: 0 };
const problems = [...failedSteps.map((name) => `${name} failed`)];
for (const { name, file } of reports) {
  if (!existsSync(file)) {
    total.failed += 1;
    problems.push(`${name}: no test report (its tests did not run; see its build or vitest output above)`);
    continue;
  }
  const report = JSON.parse(readFileSync(file, "utf8"));
  total.passed += report.numPassedTests;
  total.failed += report.numFailedTests;
  total.skipped += report.numPendingTests + report.numTodoTests;
  // A test file that fails to load, or an error outside any test, fails the run without failing a test.
  const brokenFiles = report.testResults.filter(
    (file) => file.status === "failed" && !file.assertionResults.some((test) => test.status === "failed"),
  );
  let failedOutsideTests = brokenFiles.length;
  if (!report.success && report.numFailedTests === 0 && failedOutsideTests === 0) failedOutsideTests = 1;
  total.failed += failedOutsideTests;
  if (report.numFailedTests > 0) problems.push(`${name}: ${report.numFailedTests} failed`);
  for (const broken of brokenFiles) problems.push(`${name}: ${broken.name} failed outside its tests`);
  if (failedOutsideTests > brokenFiles.length) problems.push(`${name}: errors outside the tests`);
}
total.failed += failedSteps.length;

const line = `${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`;
mkdirSync(join(root, "test-results"), { recursive: true });
writeFileSync(join(root, "test-results", "summary.txt"), `${line}\n`);
if (problems.length > 0) console.error(`\n${problems.map((problem) => `✗ ${problem}`).join("\n")}`);
console.log(line);
process.exit(total.failed === 0 ? 0 : 1);
