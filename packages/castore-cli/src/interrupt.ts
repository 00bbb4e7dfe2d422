import { InterruptedError } from "./errors.js";

/**
 * Turns the first SIGINT or SIGTERM into an aborted signal, so a running command can stop cleanly
 * (an upload aborts its writer and stores nothing). While it stops, a second Ctrl-C (SIGINT) ends
 * the process at once, the usual way; further SIGTERMs are ignored, because one stop request often
 * arrives twice (a job-control `kill %1` signals the whole process group, and a launcher such as
 * `npm start` passes SIGTERM on as well) and must not cut the graceful shutdown short.
 */
export function listenForInterrupts(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM"];
  const dispose = () => {
    for (const name of signals) process.off(name, onSignal);
  };
  function onSignal(name: NodeJS.Signals) {
    if (!controller.signal.aborted) {
      controller.abort(new InterruptedError(name));
      return;
    }
    if (name === "SIGINT") {
      dispose();
      process.kill(process.pid, "SIGINT");
    }
  }
  for (const name of signals) process.on(name, onSignal);
  return { signal: controller.signal, dispose };
}
