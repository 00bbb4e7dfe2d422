// Progress on a real terminal: `script` runs the command on a pseudo-terminal, so stderr is a TTY,
// while stdin is a pipe that delivers slowly (the transfer lasts long enough to draw a line).
import { execFileSync, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binPath, makeSandbox, type Sandbox } from "./helpers/cli.js";

const hasScript = spawnSync("script", ["--version"]).status === 0;

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await makeSandbox();
});
afterAll(async () => {
  await sandbox.cleanup();
});

/** Runs a shell command line on a pseudo-terminal and returns what appeared on it. */
function onTerminal(commandLine: string): string {
  return execFileSync("script", ["-q", "-e", "-c", commandLine, "/dev/null"], {
    env: { ...sandbox.env, SHELL: "/bin/sh", TERM: "dumb", COLUMNS: "100" },
    encoding: "utf8",
    timeout: 20_000,
  });
}

describe.runIf(hasScript)("progress on a terminal", () => {
  const slowInput = "(printf 'first part '; sleep 1.2; printf 'second part')";
  const castore = `'${process.execPath}' '${binPath}'`;

  it("put draws a progress line on stderr and erases it; stdout has just the digest", () => {
    const screen = onTerminal(`${slowInput} | ${castore} put - --blob-service-addr memory://`);
    const erase = "\r\u001b[2K";
    expect(screen).toContain(`${erase}put  11 B  `);
    // The line is erased before the digest appears, which stands alone on its line.
    expect(screen).toMatch(/\[2Kb3:[A-Za-z0-9+/]{43}=\r?\n$/);
  });

  it("--quiet draws nothing", () => {
    const screen = onTerminal(`${slowInput} | ${castore} put - --quiet --blob-service-addr memory://`);
    expect(screen).not.toContain("put  ");
    expect(screen).toMatch(/^b3:[A-Za-z0-9+/]{43}=\r?\n$/);
  });
});
