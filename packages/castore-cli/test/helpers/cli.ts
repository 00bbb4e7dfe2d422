import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The built executable the tests run, exactly as users do. */
export const binPath = fileURLToPath(new URL("../../dist/bin.js", import.meta.url));

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  /** Bytes for stdin; stdin is closed (empty) when omitted. */
  input?: Uint8Array | string;
}

/** A scratch home: temp dir used as HOME and XDG_DATA_HOME, so no test touches the real ones. */
export interface Sandbox {
  dir: string;
  env: NodeJS.ProcessEnv;
  cleanup(): Promise<void>;
}

export async function makeSandbox(): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), "castore-cli-test-"));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: join(dir, "home"),
    XDG_DATA_HOME: join(dir, "data"),
  };
  return { dir, env, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Spawns `castore <args>` and collects its output. */
export function spawnCastore(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [binPath, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
}

/** Runs `castore <args>` to completion. */
export function runCastore(args: string[], options: RunOptions): Promise<RunResult> {
  const child = spawnCastore(args, options.env);
  return collect(child, options.input);
}

/**
 * Waits for a spawned process, collecting stdout (bytes) and stderr (text). Stdin gets `input` and
 * is closed, unless `input` is "keep-open" (the test writes to it itself).
 */
export function collect(child: ChildProcess, input?: Uint8Array | string | "keep-open"): Promise<RunResult> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
  child.stdin?.on("error", () => {}); // the process may exit before reading its input
  if (input === undefined) child.stdin?.end();
  else if (input !== "keep-open") child.stdin?.end(input);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString("utf8") }),
    );
  });
}
