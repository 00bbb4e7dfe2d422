import { InvalidAddressError } from "castore-core";
import {
  booleanOption,
  decodePath,
  integerOption,
  oneOf,
  parseOptions,
  requireNoHost,
  schemeOf,
} from "castore-core/backend";
import {
  MAX_AVG_CHUNK_SIZE,
  MAX_BUSY_TIMEOUT,
  MAX_UPLOAD_LEASE,
  MIN_AVG_CHUNK_SIZE,
  MIN_UPLOAD_LEASE,
  type SqliteBlobServiceOptions,
} from "./options.js";

/**
 * Reads `sqlite:///abs/path/blobs.sqlite?option=value` (docs/design.md §4): no host; an empty path
 * means a temporary store; `/` and relative paths are refused. Unknown or malformed options are
 * `InvalidAddress` errors.
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
  // `sqlite:rel.sqlite` parses with the path "rel.sqlite": opening it would depend on the working
  // directory, so an address names its file absolutely or not at all.
  if (path !== "" && !path.startsWith("/")) {
    throw new InvalidAddressError(
      `${url.href}: the path ${JSON.stringify(path)} is relative; a sqlite address needs an absolute path ` +
        "(sqlite:///abs/path/blobs.sqlite) or none (sqlite:// for a temporary store)",
    );
  }
  const options = parseOptions(url, {
    synchronous: oneOf("normal", "full"),
    readonly: booleanOption,
    avg_chunk_size: integerOption(MIN_AVG_CHUNK_SIZE, MAX_AVG_CHUNK_SIZE),
    busy_timeout: integerOption(0, MAX_BUSY_TIMEOUT),
    upload_lease: integerOption(MIN_UPLOAD_LEASE, MAX_UPLOAD_LEASE),
    max_size: integerOption(1, Number.MAX_SAFE_INTEGER),
  });
  return {
    path,
    synchronous: options.synchronous,
    readonly: options.readonly,
    avgChunkSize: options.avg_chunk_size,
    busyTimeout: options.busy_timeout,
    uploadLease: options.upload_lease,
    maxSize: options.max_size,
  };
}
