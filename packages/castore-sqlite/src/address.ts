import {
  booleanOption,
  InvalidAddressError,
  integerOption,
  oneOf,
  parseOptions,
  requireNoHost,
  schemeOf,
} from "castore-core";
import { MAX_BUSY_TIMEOUT, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE, type SqliteBlobServiceOptions } from "./options.js";

/**
 * Reads `sqlite:///abs/path/blobs.sqlite?option=value` (DESIGN.md §4): no host; an empty path
 * means a temporary store; `/` is refused. Unknown or malformed options are `InvalidAddress` errors.
 */
export function optionsFromAddress(url: URL): SqliteBlobServiceOptions {
  if (schemeOf(url) !== "sqlite") throw new InvalidAddressError(`${url.href}: not a sqlite:// address`);
  requireNoHost(url);
  const path = decodePath(url);
  if (path === "/") {
    throw new InvalidAddressError(
      `${url.href}: "/" is a directory, not a database file; name a file such as /var/lib/castore/blobs.sqlite`,
    );
  }
  const options = parseOptions(url, {
    synchronous: oneOf("normal", "full"),
    readonly: booleanOption,
    chunk_size: integerOption(MIN_CHUNK_SIZE, MAX_CHUNK_SIZE),
    busy_timeout: integerOption(0, MAX_BUSY_TIMEOUT),
  });
  return {
    path,
    synchronous: options.synchronous,
    readonly: options.readonly,
    chunkSize: options.chunk_size,
    busyTimeout: options.busy_timeout,
  };
}

function decodePath(url: URL): string {
  try {
    return decodeURIComponent(url.pathname);
  } catch (error) {
    throw new InvalidAddressError(`${url.href}: the path is not valid percent-encoding`, { cause: error });
  }
}
