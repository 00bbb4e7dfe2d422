// Runs a script of test/children (stream-blobs.mjs by default) as a real separate process and
// follows what it reports ("DONE <i> <digest hex>" lines and any others).
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("../children/stream-blobs.mjs", import.meta.url));

export interface StreamingChild {
  readonly process: ChildProcessWithoutNullStreams;
  /** Blobs whose close returned, in order: index → digest hex. */
  readonly done: Map<number, string>;
  /** Resolves once a line starting with `prefix` has arrived (rejects if the child exits first). */
  waitFor(prefix: string): Promise<string>;
  /** Resolves once `count` blobs are done (rejects if the child exits first). */
  waitForDone(count: number): Promise<void>;
  /** Everything the child wrote to stderr. */
  stderr(): string;
  /** Kills the child with SIGKILL and waits until it is gone. */
  kill(): Promise<void>;
  /** Waits for the child to exit; returns its exit code. */
  exited(): Promise<number | null>;
}

export function startStreamingChild(
  file: string,
  seed: number,
  count: number | "inf",
  pauseAt?: number,
): StreamingChild {
  const args = [file, String(seed), String(count)];
  if (pauseAt !== undefined) args.push(String(pauseAt));
  return startChildScript(script, args);
}

/** Runs `node <childScript> <args…>` and follows its report lines. */
export function startChildScript(childScript: string, childArgs: readonly string[]): StreamingChild {
  const args = [childScript, ...childArgs];
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "pipe"] });
  const done = new Map<number, string>();
  const lines: string[] = [];
  const waiters: { test: () => string | undefined; resolve: (line: string) => void; reject: (error: Error) => void }[] =
    [];
  const wait = (test: () => string | undefined) =>
    new Promise<string>((resolve, reject) => {
      const now = test();
      if (now !== undefined) resolve(now);
      else waiters.push({ test, resolve, reject });
    });
  let errors = "";
  let buffered = "";
  // "close", not "exit": it comes after the last of stdout has been read.
  const exit = once(child, "close").then(([code]) => code as number | null);
  child.stderr.on("data", (data: Buffer) => {
    errors += data.toString();
  });
  child.stdout.on("data", (data: Buffer) => {
    buffered += data.toString();
    for (let newline = buffered.indexOf("\n"); newline >= 0; newline = buffered.indexOf("\n")) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      lines.push(line);
      const [kind, index, hex] = line.split(" ");
      if (kind === "DONE") done.set(Number(index), hex as string);
      for (const waiter of waiters.splice(0)) {
        const result = waiter.test();
        if (result !== undefined) waiter.resolve(result);
        else waiters.push(waiter);
      }
    }
  });
  void exit.then((code) => {
    for (const waiter of waiters.splice(0)) {
      waiter.reject(new Error(`child exited (${code}) before what the test waited for; stderr: ${errors}`));
    }
  });
  return {
    process: child,
    done,
    waitFor: (prefix) => wait(() => lines.find((line) => line.startsWith(prefix))),
    waitForDone: async (count) => {
      await wait(() => (done.size >= count ? "" : undefined));
    },
    stderr: () => errors,
    async kill() {
      child.kill("SIGKILL");
      await exit;
    },
    exited: () => exit,
  };
}
