import type { ChildProcess } from "node:child_process";
import { spawnCastore } from "./cli.js";

/** A running `castore daemon` process. */
export interface Daemon {
  process: ChildProcess;
  /** The client address from the startup line (grpc+http://… or grpc+unix://…). */
  address: string;
  /** The startup line as printed. */
  startupLine: string;
  /** Everything the daemon wrote to stderr so far (its JSON log lines). */
  stderr(): string;
  /** Resolves once stderr contains `text` (at least `times` times). */
  waitForLog(text: string, times?: number, timeoutMs?: number): Promise<void>;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `castore daemon <args>` and waits for its startup line on stdout. */
export function startDaemon(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<Daemon> {
  const child = spawnCastore(["daemon", ...args], env);
  child.stdin?.end();
  let stdout = "";
  let stderr = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`daemon did not start within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited (code ${code}, signal ${signal}) before starting; stderr:\n${stderr}`));
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      const newline = stdout.indexOf("\n");
      if (newline < 0) return;
      clearTimeout(timer);
      const startupLine = stdout.slice(0, newline);
      const address = /listening on (\S+)/.exec(startupLine)?.[1];
      if (!address) {
        reject(new Error(`unexpected startup line: ${startupLine}`));
        return;
      }
      resolve({
        process: child,
        address,
        startupLine,
        stderr: () => stderr,
        exited,
        waitForLog: (text, times = 1, waitMs = 120_000) =>
          new Promise<void>((done, fail) => {
            const seen = () => stderr.split(text).length - 1 >= times;
            if (seen()) return done();
            const giveUp = setTimeout(
              () => fail(new Error(`no log ${JSON.stringify(text)} x${times}; stderr:\n${stderr}`)),
              waitMs,
            );
            const check = () => {
              if (!seen()) return;
              clearTimeout(giveUp);
              child.stderr?.off("data", check);
              done();
            };
            child.stderr?.on("data", check);
          }),
        stop: async (signal = "SIGTERM") => {
          child.kill(signal);
          return exited;
        },
      });
    });
  });
}
