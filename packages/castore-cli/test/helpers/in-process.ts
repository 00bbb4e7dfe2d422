import { Readable, Writable } from "node:stream";
import { runCli } from "../../src/index.js";
import type { RunResult } from "./cli.js";

/**
 * Runs `castore <args>` inside the test process through the exported `runCli`, with stdin, stdout
 * and stderr as in-memory streams: the same result shape as a spawned run, without the cost of
 * starting Node. For what does not depend on the process itself (parsing, usage, early failures).
 */
export async function runInProcess(
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; input?: Uint8Array | string },
): Promise<RunResult> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const code = await runCli(args, {
    env: options.env,
    stdin: Readable.from(options.input === undefined ? [] : [Buffer.from(options.input)]),
    stdout: collector(stdout),
    stderr: collector(stderr),
    signal: new AbortController().signal,
  });
  return { code, signal: null, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString("utf8") };
}

function collector(chunks: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
}
