import { InvalidArgumentError } from "castore-core";

/**
 * Which `Host` / `:authority` values a TCP listener serves (protection against DNS rebinding: a web
 * page whose own name resolves to 127.0.0.1 reaches the server with that name as its Host, and is
 * refused). `undefined` means the default: the listen address, `localhost`, `127.0.0.1` and `[::1]`,
 * each with the listening port. Entries given by the user are added to those: `name` (any port, or
 * none, as a reverse proxy in front sends it) or `name:port`. `"*"` turns the check off.
 */
export type AllowedHosts = "*" | readonly string[];

export class HostCheck {
  readonly #exact = new Set<string>();
  readonly #anyPort = new Set<string>();

  /** Checks the user's entries (InvalidArgument for one that cannot be a host name). */
  constructor(extra: readonly string[]) {
    for (const entry of extra) {
      const name = entry.trim().toLowerCase();
      if (name === "" || /[\s/?#@]/.test(name))
        throw new InvalidArgumentError(`invalid allowed host ${JSON.stringify(entry)}`);
      if (/:\d+$/.test(name) && !/^[^[]*:[^\]]*:/.test(name)) this.#exact.add(name);
      else this.#anyPort.add(bracket(name.replace(/^\[(.*)\]$/, "$1")));
    }
  }

  /** Adds the names a listener on `port` always answers to: `listenHosts`, localhost, 127.0.0.1, [::1]. */
  bind(listenHosts: readonly string[], port: number): this {
    for (const host of [...listenHosts, "localhost", "127.0.0.1", "::1"]) this.#exact.add(`${bracket(host)}:${port}`);
    return this;
  }

  /** True when a request with this authority may be served. A missing authority never is. */
  allows(authority: string | undefined): boolean {
    if (authority === undefined) return false;
    const value = authority.trim().toLowerCase();
    if (this.#exact.has(value)) return true;
    const host = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(value)?.[1];
    return host !== undefined && this.#anyPort.has(host);
  }
}

function bracket(host: string): string {
  const lower = host.toLowerCase();
  return lower.includes(":") && !lower.startsWith("[") ? `[${lower}]` : lower;
}

/**
 * The Host check a TCP listener on `host` (as asked for) bound at `address:port` applies, for
 * servers beside castore's own (the CLI's metrics listener): the same defaults and `allowed` entries
 * as `serveBlobService`'s `allowedHosts`. Returns whether a request's `Host` / `:authority` may be served.
 */
export function hostCheckFor(
  allowed: AllowedHosts | undefined,
  bound: { host: string; address: string; port: number },
): (authority: string | undefined) => boolean {
  if (allowed === "*") return () => true;
  const check = new HostCheck(allowed ?? []).bind([bound.host, bound.address], bound.port);
  return (authority) => check.allows(authority);
}
