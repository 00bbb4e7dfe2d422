// Makes a program from a Debian package available to the tests that need it, where that is
// possible: present already → nothing to do; root with apt-get (CI, the project's machines) →
// install it; anything else → say why, and those tests skip themselves with the same reason.
// Never fails the test run: a machine without it still runs every other test. Plain JavaScript
// with no dependencies: packages' test scripts run it before anything is built.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

function run(command, args) {
  const result = spawnSync(command, args, { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  return result.status === 0 ? undefined : (result.stderr || result.error?.message || `exit ${result.status}`).trim();
}

/**
 * @param {{ path: string, pkg: string, tag: string, neededBy: string }} what the program's path,
 *   the Debian package that installs it, the name warnings start with, and the tests that need it
 */
export function ensureDebianPackage({ path, pkg, tag, neededBy }) {
  if (existsSync(path)) return;
  const hasAptGet = existsSync("/usr/bin/apt-get");
  if (!hasAptGet || process.getuid?.() !== 0) {
    console.warn(
      `${tag}: no ${path}, and ${hasAptGet ? "not root" : "no apt-get"}: ${neededBy} will be skipped (install Debian's ${pkg} to run them)`,
    );
    return;
  }
  console.warn(`${tag}: installing Debian's ${pkg} for ${neededBy} (apt-get)…`);
  // Another install holding the dpkg lock is waited for rather than failed on.
  const lock = ["-o", "DPkg::Lock::Timeout=600"];
  const failure =
    run("apt-get", [...lock, "update"]) ?? run("apt-get", [...lock, "install", "-y", "--no-install-recommends", pkg]);
  if (failure || !existsSync(path)) {
    console.warn(
      `${tag}: could not install ${pkg} (${failure ?? "not found afterwards"}); ${neededBy} will be skipped`,
    );
  }
}
