#!/usr/bin/env node
// The `castore` executable: wires the real process into runCli and exits with its status.
import { runCli } from "./cli.js";
import { listenForInterrupts } from "./interrupt.js";

// A reader that went away (EPIPE) must not crash the process with a stack trace; `cat` notices it
// through its own listener and stops.
process.stdout.on("error", () => {});
const interrupts = listenForInterrupts();
const status = await runCli(process.argv.slice(2), {
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: interrupts.signal,
});
interrupts.dispose();
// Exit once stdout and stderr have flushed, even if a client library still holds a keep-alive timer.
process.exitCode = status;
process.stdout.write("", () => process.stderr.write("", () => process.exit(status)));
