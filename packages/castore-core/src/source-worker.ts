import { Worker } from "node:worker_threads";

/**
 * Starts a worker thread that runs `body(require, workerData)` from the function's source text, so
 * that no separate script file has to be found beside the bundle. The source runs as a script or as
 * a module, after whatever flags the process was started with (--input-type): it takes `require`
 * and the worker data from what both provide. `body` must refer to nothing outside itself.
 * Throws where no thread can be started.
 */
export function startSourceWorker<Data>(body: (require: NodeJS.Require, data: Data) => void, workerData: Data): Worker {
  const source = `(${body.toString()})(
      process.getBuiltinModule("node:module").createRequire(${JSON.stringify(import.meta.url)}),
      process.getBuiltinModule("node:worker_threads").workerData,
    );`;
  return new Worker(source, { eval: true, workerData });
}
