#!/usr/bin/env node
// Makes Debian's Chromium available for the browser tests (test/browser), where that is possible:
// present already → nothing to do; root with apt-get (CI, the project's machines) → install it;
// anything else → say why, and the browser tests skip themselves with the same reason. Never fails
// the test run: a machine without a browser still runs every other test.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const chromium = process.env.CASTORE_CHROMIUM ?? "/usr/bin/chromium";

function run(command, args) {
  const result = spawnSync(command, args, { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  return result.status === 0 ? undefined : (result.stderr || result.error?.message || `exit ${result.status}`).trim();
}

if (existsSync(chromium)) process.exit(0);
if (process.env.CASTORE_CHROMIUM) {
  console.warn(`ensure-chromium: CASTORE_CHROMIUM=${chromium} does not exist; the browser tests will be skipped`);
  process.exit(0);
}
const hasAptGet = existsSync("/usr/bin/apt-get");
const isRoot = process.getuid?.() === 0;
if (!hasAptGet || !isRoot) {
  console.warn(
    `ensure-chromium: no ${chromium}, and ${hasAptGet ? "not root" : "no apt-get"}: the browser tests will be skipped (install Debian's chromium to run them)`,
  );
  process.exit(0);
}
console.warn("ensure-chromium: installing Debian's chromium for the browser tests (apt-get)…");
// Another install holding the dpkg lock is waited for rather than failed on.
const lock = ["-o", "DPkg::Lock::Timeout=600"];
const failure =
  run("apt-get", [...lock, "update"]) ??
  run("apt-get", [...lock, "install", "-y", "--no-install-recommends", "chromium"]);
if (failure || !existsSync(chromium)) {
  console.warn(
    `ensure-chromium: could not install chromium (${failure ?? "not found afterwards"}); the browser tests will be skipped`,
  );
}
