import { lstat, unlink } from "node:fs/promises";
import { connect } from "node:net";
import { dirname } from "node:path";

/** Why the daemon cannot listen where it was asked to; printed as one line. */
export class ListenError extends Error {
  override readonly name = "ListenError";
}

/**
 * Makes a unix socket path ready for listening. A socket file left behind by a daemon that died
 * is removed; a socket someone still listens on means the address is in use; any other file is
 * left alone and refused (the daemon never deletes a user's file).
 */
export async function prepareSocketPath(path: string): Promise<void> {
  // Checked here because listening in a missing directory fails with a misleading EACCES.
  const directory = await lstat(dirname(path)).catch(() => undefined);
  if (!directory?.isDirectory()) {
    throw new ListenError(`cannot listen: address unix:${path} is in a directory that does not exist`);
  }
  const stats = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (!stats) return;
  if (!stats.isSocket())
    throw new ListenError(`cannot listen: unix:${path} exists and is not a socket (refusing to replace it)`);
  if (await someoneListens(path)) {
    throw new ListenError(`cannot listen: address unix:${path} is already in use (is another castore daemon running?)`);
  }
  await unlink(path);
}

function someoneListens(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** One line for a failure to listen, naming the address and the likely reason. */
export function describeListenFailure(error: unknown, display: string): ListenError {
  if (error instanceof ListenError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason =
    code === "EADDRINUSE"
      ? "is already in use (is another castore daemon running?)"
      : code === "EACCES"
        ? "is not allowed (permission denied)"
        : code === "EADDRNOTAVAIL"
          ? "is not an address of this machine"
          : code === "ENOTFOUND" || code === "EAI_AGAIN"
            ? "names an unknown host"
            : code === "ENOENT"
              ? "is in a directory that does not exist"
              : `failed: ${error instanceof Error ? error.message : String(error)}`;
  // No `cause`: its message would repeat the reason on the error line.
  return new ListenError(`cannot listen: address ${display} ${reason}`);
}
