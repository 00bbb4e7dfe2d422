import { InvalidAddressError } from "./errors.js";
import { describeIntegerRange, isIntegerInRange } from "./integers.js";

/**
 * Helpers backends use to validate their addresses the same way (docs/design.md §4), so every scheme
 * reports mistakes in the same words.
 */

/** Parses a store address; a string that is not a URL is an `InvalidAddress` error. */
export function parseAddress(address: string | URL): URL {
  if (address instanceof URL) return address;
  if (typeof address !== "string" || address.length === 0) {
    throw new InvalidAddressError(
      "store address is empty: expected a URL such as memory:// or sqlite:///path/blobs.sqlite",
    );
  }
  try {
    return new URL(address);
  } catch (error) {
    throw new InvalidAddressError(`store address ${JSON.stringify(address)} is not a URL`, { cause: error });
  }
}

/** The scheme without the trailing colon, lower case ("grpc+unix"). */
export function schemeOf(url: URL): string {
  return url.protocol.replace(/:$/, "").toLowerCase();
}

/** Fails unless the address has no host (and no user, password or port). */
export function requireNoHost(url: URL): void {
  if (url.host !== "" || url.username !== "" || url.password !== "") {
    throw new InvalidAddressError(
      `${url.href}: ${schemeOf(url)} addresses take no host (got ${JSON.stringify(url.host || url.username)})`,
    );
  }
}

/** Fails unless the address has a host (and returns it, with the port if any). */
export function requireHost(url: URL): string {
  if (url.hostname === "") throw new InvalidAddressError(`${url.href}: ${schemeOf(url)} addresses need a host`);
  if (url.username !== "" || url.password !== "") {
    throw new InvalidAddressError(`${url.href}: ${schemeOf(url)} addresses take no user or password`);
  }
  return url.host;
}

/** Fails unless the address has no path ("" or "/" for special schemes). */
export function requireNoPath(url: URL): void {
  const path = url.pathname;
  if (path !== "" && !(path === "/" && isSpecialScheme(url))) {
    throw new InvalidAddressError(`${url.href}: ${schemeOf(url)} addresses take no path (got ${JSON.stringify(path)})`);
  }
}

/** The address's path, percent-decoded; malformed escapes are an `InvalidAddress` error. */
export function decodePath(url: URL): string {
  try {
    return decodeURIComponent(url.pathname);
  } catch (error) {
    throw new InvalidAddressError(`${url.href}: the path is not validly percent-encoded`, { cause: error });
  }
}

/** Fails unless the address has a non-root path, and returns it decoded. */
export function requirePath(url: URL): string {
  const path = decodePath(url);
  if (path === "" || path === "/") throw new InvalidAddressError(`${url.href}: ${schemeOf(url)} addresses need a path`);
  return path;
}

/** Fails if the address carries a #fragment, which no scheme uses. */
export function requireNoFragment(url: URL): void {
  if (url.hash !== "") throw new InvalidAddressError(`${url.href}: store addresses take no #fragment`);
}

/** How one query option is parsed. Throw an Error with a short explanation for bad values. */
export type OptionParser<T> = (value: string) => T;

export type OptionParsers = Record<string, OptionParser<unknown>>;
export type ParsedOptions<P extends OptionParsers> = { [K in keyof P]?: ReturnType<P[K]> };

/**
 * Parses query options against the allowed set: unknown, repeated or malformed options are
 * `InvalidAddress` errors that name the option and list the allowed ones.
 */
export function parseOptions<P extends OptionParsers>(url: URL, parsers: P): ParsedOptions<P> {
  const result: Record<string, unknown> = {};
  const allowed = Object.keys(parsers);
  for (const [name, value] of url.searchParams) {
    const parser = Object.hasOwn(parsers, name) ? parsers[name] : undefined;
    if (!parser) {
      const known = allowed.length > 0 ? `known options: ${allowed.join(", ")}` : "this scheme takes no options";
      throw new InvalidAddressError(`${url.href}: unknown option ${JSON.stringify(name)} (${known})`, { option: name });
    }
    if (Object.hasOwn(result, name))
      throw new InvalidAddressError(`${url.href}: option ${JSON.stringify(name)} is given twice`, { option: name });
    try {
      result[name] = parser(value);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new InvalidAddressError(
        `${url.href}: bad value ${JSON.stringify(value)} for option ${JSON.stringify(name)}: ${why}`,
        { cause: error, option: name },
      );
    }
  }
  return result as ParsedOptions<P>;
}

/** Option parser: one of a fixed set of words. */
export function oneOf<const T extends string>(...choices: T[]): OptionParser<T> {
  return (value) => {
    if ((choices as string[]).includes(value)) return value as T;
    throw new Error(`expected one of ${choices.join(", ")}`);
  };
}

/** Option parser: a boolean written as 1/0/true/false. */
export const booleanOption: OptionParser<boolean> = (value) => {
  if (value === "1" || value === "true") return true;
  if (value === "0" || value === "false") return false;
  throw new Error("expected 1, 0, true or false");
};

/** Option parser: an integer within [min, max]. */
export function integerOption(min: number, max: number): OptionParser<number> {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !isIntegerInRange(n, min, max))
      throw new Error(`expected ${describeIntegerRange(min, max)}`);
    return n;
  };
}

function isSpecialScheme(url: URL): boolean {
  return ["http:", "https:", "ws:", "wss:", "ftp:", "file:"].includes(url.protocol);
}
