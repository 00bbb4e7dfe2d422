import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * Where the default store lives: `$XDG_DATA_HOME/castore/blobs.sqlite`, or
 * `~/.local/share/castore/blobs.sqlite` when XDG_DATA_HOME is unset or not absolute (the XDG base
 * directory spec says relative values are to be ignored).
 */
export function defaultStorePath(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_DATA_HOME;
  const dataHome = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), ".local", "share");
  return join(dataHome, "castore", "blobs.sqlite");
}

/** The `sqlite://` address of a store file, with the path percent-encoded as a URL needs. */
export function sqliteAddress(path: string): string {
  return `sqlite://${pathToFileURL(path).pathname}`;
}
