// The daemon as the benches run it: `castore daemon` from this package's dist, in a process of its
// own, listening on a free loopback port.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { procStatusBytes } from "../../../scripts/process-memory.mjs";

const bin = join(import.meta.dirname, "..", "dist", "bin.js");

/**
 * Starts `castore daemon --listen-address 127.0.0.1:0 ...args` and resolves once it has printed its
 * address. With `manyFiles`, under a raised descriptor limit: each connection a bench holds is a
 * descriptor on both ends. Its stderr (the logs) goes to this process's.
 */
export async function startDaemon(args, { manyFiles = false } = {}) {
  const command = [bin, "daemon", "--listen-address", "127.0.0.1:0", ...args];
  const stdio = ["ignore", "pipe", "inherit"];
  const daemon = manyFiles
    ? spawn("sh", ["-c", 'ulimit -n 8192 2>/dev/null; exec "$0" "$@"', process.execPath, ...command], { stdio })
    : spawn(process.execPath, command, { stdio });
  const [startup] = await once(daemon.stdout, "data");
  const address = /listening on (\S+)/.exec(String(startup))?.[1];
  if (!address) throw new Error(`unexpected startup line: ${startup}`);
  return {
    daemon,
    address,
    /** The daemon's VmRSS or VmHWM (its peak), in MiB; throws once it is gone (no figure is not a small one). */
    rssMiB(field) {
      const bytes = procStatusBytes(field, daemon.pid);
      if (bytes === undefined) throw new Error(`no ${field} for the daemon (pid ${daemon.pid}): has it exited?`);
      return bytes / (1 << 20);
    },
  };
}
