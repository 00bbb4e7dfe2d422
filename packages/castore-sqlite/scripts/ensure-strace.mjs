#!/usr/bin/env node
// Makes Debian's strace available for the test of the order in which a durable put syncs its files
// (test/durability-order.test.ts), where that is possible: present already → nothing to do; root
// with apt-get (CI, the project's machines) → install it; anything else → say why, and that test
// skips itself with the same reason. Never fails the test run.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const strace = "/usr/bin/strace";

function run(command, args) {
  const result = spawnSync(command, args, { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  return result.status === 0 ? undefined : (result.stderr || result.error?.message || `exit ${result.status}`).trim();
}

if (existsSync(strace) || process.platform !== "linux") process.exit(0);
const hasAptGet = existsSync("/usr/bin/apt-get");
if (!hasAptGet || process.getuid?.() !== 0) {
  console.warn(
    `ensure-strace: no ${strace}, and ${hasAptGet ? "not root" : "no apt-get"}: the durability-order test will be skipped (install Debian's strace to run it)`,
  );
  process.exit(0);
}
console.warn("ensure-strace: installing Debian's strace for the durability-order test (apt-get)…");
// Another install holding the dpkg lock is waited for rather than failed on.
const lock = ["-o", "DPkg::Lock::Timeout=600"];
const failure =
  run("apt-get", [...lock, "update"]) ??
  run("apt-get", [...lock, "install", "-y", "--no-install-recommends", "strace"]);
if (failure || !existsSync(strace)) {
  console.warn(
    `ensure-strace: could not install strace (${failure ?? "not found afterwards"}); the test will be skipped`,
  );
}
