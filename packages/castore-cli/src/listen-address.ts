import { isAbsolute, resolve } from "node:path";
import { UsageError } from "./errors.js";

/** Where the daemon listens: a TCP host and port, or a unix socket path. */
export type ListenAddress = { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string };

export const DEFAULT_LISTEN_ADDRESS = "127.0.0.1:8000";

/**
 * Parses `--listen-address`: `host:port` (IPv6 hosts in brackets, `[::1]:8000`; port 0 picks a
 * free port) or `unix:/path/to/socket` (a relative path is taken from the working directory).
 */
export function parseListenAddress(text: string, flag = "--listen-address"): ListenAddress {
  if (text.startsWith("unix:")) {
    const path = text.slice("unix:".length);
    if (path === "") throw new UsageError(`invalid ${flag} ${JSON.stringify(text)}: the socket path is empty`);
    return { kind: "unix", path: isAbsolute(path) ? path : resolve(path) };
  }
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!match || !host || !Number.isSafeInteger(port) || port > 65535) {
    throw new UsageError(
      `invalid ${flag} ${JSON.stringify(text)}: expected host:port (e.g. 127.0.0.1:8000, [::1]:8000) or unix:/path/to/socket`,
    );
  }
  return { kind: "tcp", host, port };
}

/** `host:port` with IPv6 hosts bracketed. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
