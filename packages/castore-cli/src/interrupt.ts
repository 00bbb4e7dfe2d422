import { InterruptedError } from "./errors.js";

/**
 * Turns the first SIGINT or SIGTERM into an aborted signal, so a running command can stop cleanly
 * (an upload aborts its writer and stores nothing). The handlers remove themselves after the first
 * signal: a second Ctrl-C kills the process the usual way.
 */
export function listenForInterrupts(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM"];
  const dispose = () => {
    for (const name of signals) process.off(name, onSignal);
  };
  function onSignal(name: NodeJS.Signals) {
    dispose();
    controller.abort(new InterruptedError(name));
  }
  for (const name of signals) process.on(name, onSignal);
  return { signal: controller.signal, dispose };
}
