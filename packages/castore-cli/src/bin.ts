#!/usr/bin/env node
// The `castore` executable: wires the real process into runCli and exits with its status.
import { primeMallocThresholds } from "castore-core/node";
import { runCli } from "./cli.js";
import { listenForInterrupts } from "./interrupt.js";

// Before any blob moves: a fresh process would otherwise fault its buffers in anew after every
// burst of frees (see primeMallocThresholds); the daemon and put/cat of big blobs pay for that most.
primeMallocThresholds();

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
