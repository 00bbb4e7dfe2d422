// Progress on a real terminal: `script` runs the command on a pseudo-terminal, so stderr is a TTY,
// while stdin is a named pipe the test feeds: half the input, then (once the progress line is on
// the screen) the rest. The transfer lasts exactly as long as the test needs, however busy the machine.
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binPath, makeSandbox, type Sandbox } from "./helpers/cli.js";

const hasScript = spawnSync("script", ["--version"]).status === 0;
const erase = "\r\u001b[2K";

let sandbox: Sandbox;
let fifos = 0;
beforeAll(async () => {
  sandbox = await makeSandbox();
});
afterAll(async () => {
  await sandbox.cleanup();
});

/** `castore put - <flags>` on a pseudo-terminal, reading stdin from a named pipe the test writes. */
async function putOnTerminal(flags: string[]) {
  const fifo = join(sandbox.dir, `input-${fifos++}`);
  execFileSync("mkfifo", [fifo]);
  const castore = [process.execPath, binPath, "put", "-", ...flags, "--blob-service-addr", "memory://"];
  const commandLine = `${castore.map((word) => `'${word}'`).join(" ")} < '${fifo}'`;
  const child: ChildProcess = spawn("script", ["-q", "-e", "-c", commandLine, "/dev/null"], {
    env: { ...sandbox.env, SHELL: "/bin/sh", TERM: "dumb", COLUMNS: "100" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let screen = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    screen += chunk.toString("utf8");
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  const input = await open(fifo, "w"); // returns once the shell has opened the pipe for the command
  return {
    screen: () => screen,
    write: (text: string) => input.write(text),
    /** Resolves once `text` has appeared on the terminal. */
    shows: (text: string) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (!screen.includes(text)) return;
          child.stdout?.off("data", check);
          resolve();
        };
        child.stdout?.on("data", check);
        check();
      }),
    finish: async () => {
      await input.close();
      return exited;
    },
  };
}

describe.runIf(hasScript)("progress on a terminal", () => {
  it("put draws a progress line on stderr and erases it; stdout has just the digest; --quiet draws nothing", async () => {
    const [loud, quiet] = await Promise.all([putOnTerminal([]), putOnTerminal(["--quiet"])]);
    await Promise.all([loud.write("first part "), quiet.write("first part ")]);
    // The reporter waits before its first line; both transfers stay open until the loud one drew.
    await loud.shows(`${erase}put  11 B  `);
    await Promise.all([loud.write("second part"), quiet.write("second part")]);
    expect(await loud.finish()).toBe(0);
    expect(await quiet.finish()).toBe(0);

    // The line is erased before the digest appears, which stands alone on its line.
    expect(loud.screen()).toMatch(/\[2Kb3:[A-Za-z0-9+/]{43}=\r?\n$/);
    expect(quiet.screen()).not.toContain("put  ");
    expect(quiet.screen()).toMatch(/^b3:[A-Za-z0-9+/]{43}=\r?\n$/);
  });
});
