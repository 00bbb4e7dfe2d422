import { InvalidAddressError } from "castore-core";
import {
  booleanOption,
  decodePath,
  integerOption,
  MAX_AVG_CHUNK_SIZE,
  MIN_AVG_CHUNK_SIZE,
  type OptionParsers,
  parseOptions,
  schemeOf,
} from "castore-core/backend";
import { normalizePrefix } from "./layout.js";
import { MAX_CONCURRENCY, type ObjectStoreBlobServiceOptions } from "./options.js";

/**
 * The `objectstore+…` addresses:
 * - `objectstore+memory://[/PREFIX]`: the layout in memory;
 * - `objectstore+file:///ABS/PATH`: the layout in a directory;
 * - `objectstore+s3://BUCKET[/PREFIX]?endpoint=URL&region=…&force_path_style=1&profile=…`.
 * Options common to all: avg_chunk_size, upload_concurrency, download_concurrency; `max_size` for
 * objectstore+file only.
 *
 * Credentials never go in an address (addresses are logged, shown in `ps`, kept in shell
 * history): a user, password or credential-looking option is refused, and no message here ever
 * repeats a query value it does not know to be harmless.
 */

export interface S3Address {
  readonly bucket: string;
  readonly endpoint: string | undefined;
  readonly region: string | undefined;
  readonly forcePathStyle: boolean | undefined;
  readonly profile: string | undefined;
  readonly retries: number | undefined;
}

const commonParsers = {
  avg_chunk_size: integerOption(MIN_AVG_CHUNK_SIZE, MAX_AVG_CHUNK_SIZE),
  upload_concurrency: integerOption(1, MAX_CONCURRENCY),
  download_concurrency: integerOption(1, MAX_CONCURRENCY),
} satisfies OptionParsers;

/** `objectstore+file` alone can be bounded: only a directory is deleted from (see file-eviction.ts). */
const fileParsers = {
  ...commonParsers,
  max_size: integerOption(1, Number.MAX_SAFE_INTEGER),
} satisfies OptionParsers;

const s3Parsers = {
  ...commonParsers,
  endpoint: endpointOption,
  region: regionOption,
  force_path_style: booleanOption,
  profile: profileOption,
  retries: integerOption(0, 20),
} satisfies OptionParsers;

const CREDENTIAL_LIKE = /key|secret|token|password|credential|session/i;

/** The address with any user/password removed and only known options' values kept, for messages. */
export function safeHref(url: URL, known: readonly string[] = Object.keys(s3Parsers)): string {
  const safe = new URL(url.href);
  safe.username = "";
  safe.password = "";
  const query = new URLSearchParams();
  for (const [name, value] of url.searchParams) {
    // An endpoint with user info (http://key:secret@host) is refused, and never repeated.
    const harmless = known.includes(name) && !(name === "endpoint" && value.includes("@"));
    query.append(name, harmless ? value : "…");
  }
  safe.search = query.toString();
  return safe.href;
}

/** Checks option names before any value is parsed, so a refusal never echoes an unknown value. */
function checkOptionNames(url: URL, parsers: OptionParsers): void {
  const allowed = Object.keys(parsers);
  if (url.searchParams.get("endpoint")?.includes("@")) {
    throw new InvalidAddressError(
      `${safeHref(url, allowed)}: the endpoint must not carry a user or password; credentials come from the AWS chain`,
    );
  }
  for (const name of url.searchParams.keys()) {
    if (Object.hasOwn(parsers, name)) continue;
    const href = safeHref(url, allowed);
    if (CREDENTIAL_LIKE.test(name)) {
      throw new InvalidAddressError(
        `${href}: option ${JSON.stringify(name)} looks like a credential; credentials never go in an address (use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a shared credentials file, or profile=)`,
        { option: name },
      );
    }
    throw new InvalidAddressError(
      `${href}: unknown option ${JSON.stringify(name)} (known options: ${allowed.join(", ")})`,
      { option: name },
    );
  }
}

function refuseUserInfo(url: URL): void {
  if (url.username !== "" || url.password !== "") {
    throw new InvalidAddressError(
      `${safeHref(url)}: objectstore addresses take no user or password; credentials come from the AWS chain (environment, shared files, profile=)`,
    );
  }
}

function commonOptions(options: {
  avg_chunk_size?: number | undefined;
  upload_concurrency?: number | undefined;
  download_concurrency?: number | undefined;
}): ObjectStoreBlobServiceOptions {
  return {
    avgChunkSize: options.avg_chunk_size,
    uploadConcurrency: options.upload_concurrency,
    downloadConcurrency: options.download_concurrency,
  };
}

function prefixFrom(url: URL, path: string): string {
  try {
    return normalizePrefix(path);
  } catch (error) {
    throw new InvalidAddressError(`${safeHref(url)}: ${(error as Error).message}`);
  }
}

/** `objectstore+memory://[/PREFIX]`: no host. */
export function parseMemoryAddress(url: URL): ObjectStoreBlobServiceOptions {
  refuseUserInfo(url);
  if (url.host !== "") {
    throw new InvalidAddressError(
      `${safeHref(url)}: ${schemeOf(url)} addresses take no host (got ${JSON.stringify(url.host)})`,
    );
  }
  checkOptionNames(url, commonParsers);
  const options = parseOptions(new URL(safeHref(url)), commonParsers);
  return { ...commonOptions(options), prefix: prefixFrom(url, decodePath(url)) };
}

/** `objectstore+file:///ABS/PATH[?max_size=BYTES]`: no host, an absolute path that is not "/". */
export function parseFileAddress(
  url: URL,
): ObjectStoreBlobServiceOptions & { directory: string; maxSize: number | undefined } {
  refuseUserInfo(url);
  if (url.host !== "") {
    throw new InvalidAddressError(
      `${safeHref(url)}: ${schemeOf(url)} addresses take no host (got ${JSON.stringify(url.host)}); write objectstore+file:///abs/path`,
    );
  }
  checkOptionNames(url, fileParsers);
  const path = decodePath(url);
  if (!path.startsWith("/") || path.replace(/\/+$/, "") === "") {
    throw new InvalidAddressError(
      `${safeHref(url)}: ${schemeOf(url)} needs an absolute directory path other than "/" (objectstore+file:///var/lib/castore)`,
    );
  }
  if (path.split("/").some((segment) => segment === "." || segment === "..")) {
    throw new InvalidAddressError(`${safeHref(url)}: the path must not contain "." or ".." segments`);
  }
  const options = parseOptions(new URL(safeHref(url, Object.keys(fileParsers))), fileParsers);
  return { ...commonOptions(options), directory: path.replace(/\/+$/, ""), prefix: "", maxSize: options.max_size };
}

/** `objectstore+s3://BUCKET[/PREFIX]?…`. */
export function parseS3Address(url: URL): ObjectStoreBlobServiceOptions & { s3: S3Address } {
  refuseUserInfo(url);
  checkOptionNames(url, s3Parsers);
  const bucket = url.hostname;
  if (bucket === "")
    throw new InvalidAddressError(
      `${safeHref(url)}: ${schemeOf(url)} addresses need a bucket: objectstore+s3://BUCKET[/PREFIX]`,
    );
  if (url.port !== "")
    throw new InvalidAddressError(`${safeHref(url)}: a bucket name has no port; put the service in endpoint=`);
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new InvalidAddressError(`${safeHref(url)}: ${JSON.stringify(bucket)} is not a valid S3 bucket name`);
  }
  const options = parseOptions(new URL(safeHref(url)), s3Parsers);
  return {
    ...commonOptions(options),
    prefix: prefixFrom(url, decodePath(url)),
    s3: {
      bucket,
      endpoint: options.endpoint,
      region: options.region,
      forcePathStyle: options.force_path_style,
      profile: options.profile,
      retries: options.retries,
    },
  };
}

function endpointOption(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error("expected an http:// or https:// URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("expected an http:// or https:// URL");
  if (url.username !== "" || url.password !== "") throw new Error("the endpoint must not carry a user or password");
  if (url.search !== "" || url.hash !== "") throw new Error("the endpoint takes no query or fragment");
  return url.href.replace(/\/$/, "");
}

function regionOption(value: string): string {
  if (!/^[a-z0-9-]{1,64}$/.test(value)) throw new Error("expected a region name such as us-east-1");
  return value;
}

function profileOption(value: string): string {
  if (!/^[A-Za-z0-9_.+-]{1,128}$/.test(value)) throw new Error("expected a profile name");
  return value;
}
