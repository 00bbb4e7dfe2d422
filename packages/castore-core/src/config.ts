import { InvalidAddressError, isCastoreError } from "./errors.js";
import { type BlobServiceBackend, type BlobServiceRegistry, defaultRegistry } from "./registry.js";
import type { SignalOptions } from "./signal.js";
import type { BlobService } from "./types.js";

/**
 * Store configurations: named stores, each a table with a `type` (a registered URL scheme) and its
 * fields, composed by `&name` references, the one to use named `root`. snix's shape:
 *
 * ```toml
 * [blobservices.root]
 * type = "cache"
 * near = "&local"
 * far = "&team"
 *
 * [blobservices.local]
 * type = "sqlite"
 * path = "/var/cache/castore/blobs.sqlite"
 *
 * [blobservices.team]
 * type = "grpc+http"
 * host = "castore.example.org:8000"
 * ```
 *
 * Parsing the file (TOML, JSON) is the caller's business; this module takes the parsed value.
 */

/** A value in a configuration table, as TOML or JSON parsers return them. */
export type ConfigValue = string | number | boolean | readonly ConfigValue[] | { readonly [key: string]: ConfigValue };

/** One store's table without its `type`. */
export type ConfigTable = { readonly [key: string]: ConfigValue };

/** What a backend's `openConfig` gets besides its table. */
export interface ConfigContext extends SignalOptions {
  /** Where the table is, for error messages: "blobservices.root". */
  readonly path: string;
  /** The registry the configuration is opened with. */
  readonly registry: BlobServiceRegistry;
  /**
   * Opens the store that the field `key` of the table names: `"&name"`, another table of the
   * configuration (opened once, shared, closed with the configuration's root), or a store URL.
   * The configuration owns what this returns: the caller must not close it.
   */
  openStore(key: string): Promise<BlobService>;
  /** An `InvalidAddress` error about the field `key` of the table, its message prefixed with the key's path. */
  error(key: string, message: string, options?: ErrorOptions): InvalidAddressError;
}

export interface OpenStoreConfigOptions extends SignalOptions {
  /** Where the store types are looked up. Default: the process-wide registry. */
  registry?: BlobServiceRegistry | undefined;
}

const SECTION = "blobservices";
const ROOT = "root";
/** Fields the generic mapping puts into the URL itself rather than into its query. */
const URL_FIELDS = new Set(["host", "path"]);

/**
 * Opens the `root` store of a configuration: the stores it references are opened first, each once,
 * and closing the returned store closes every store the configuration opened. Mistakes (an unknown
 * key, a missing `type` or `root`, a dangling or cyclic `&reference`, a bad value) are
 * `InvalidAddress` errors whose message starts with the key's path, e.g. `blobservices.local.path`.
 *
 * Tables of backends without an `openConfig` hook map to their URL: `path` becomes the URL's path,
 * `host` its host, every other field a query option (so any registered scheme works in a
 * configuration, and the backend validates its options as it does for URLs).
 */
export async function openStoreConfig(config: unknown, options?: OpenStoreConfigOptions): Promise<BlobService> {
  const registry = options?.registry ?? defaultRegistry;
  const tables = checkConfig(config, registry);
  const opened: BlobService[] = [];
  const opening = new Map<string, Promise<BlobService>>();
  const track = (service: BlobService): BlobService => {
    opened.push(service);
    return service;
  };

  const openNamed = (name: string): Promise<BlobService> => {
    let service = opening.get(name);
    if (!service) {
      service = openTable(name, tables.get(name) as CheckedTable);
      opening.set(name, service);
    }
    return service;
  };

  const openTable = async (name: string, table: CheckedTable): Promise<BlobService> => {
    const path = `${SECTION}.${name}`;
    const context: ConfigContext = {
      path,
      registry,
      signal: options?.signal,
      error: (key, message, errorOptions) =>
        new InvalidAddressError(`${path}.${key}: ${message}`, { ...errorOptions, option: key }),
      openStore: async (key) => {
        const value = table.fields[key];
        if (value === undefined) throw context.error(key, 'missing: expected "&name" or a store URL');
        if (typeof value !== "string") throw context.error(key, 'expected "&name" or a store URL');
        if (value.startsWith("&")) return openNamed(value.slice(1));
        try {
          return track(await registry.open(value, { signal: options?.signal }));
        } catch (error) {
          throw keyed(error, `${path}.${key}`);
        }
      },
    };
    try {
      if (table.backend.openConfig) return track(await table.backend.openConfig(table.fields, context));
      return track(await openGeneric(table, context));
    } catch (error) {
      throw keyed(error, path);
    }
  };

  try {
    const root = await openNamed(ROOT);
    return opened.length === 1 ? root : new ComposedBlobService(root, opened);
  } catch (error) {
    // Every store opened so far is closed, the most recently opened (the ones that use others) first.
    await closeAll(opened);
    throw error;
  }
}

interface CheckedTable {
  readonly backend: BlobServiceBackend;
  readonly fields: ConfigTable;
}

/**
 * Checks the whole configuration before anything opens: its shape, every `type`, every `&reference`
 * (it must name a table, and references must not form a cycle), and that `root` exists.
 */
function checkConfig(config: unknown, registry: BlobServiceRegistry): Map<string, CheckedTable> {
  if (!isTable(config)) throw new InvalidAddressError(`a store configuration must be a table, got ${describe(config)}`);
  for (const key of Object.keys(config)) {
    if (key !== SECTION) throw configError(key, `unknown key (a store configuration has only "${SECTION}")`);
  }
  const section = config[SECTION];
  if (section === undefined) throw configError(SECTION, "missing: the configuration names no stores");
  if (!isTable(section)) throw configError(SECTION, `expected a table of named stores, got ${describe(section)}`);

  const tables = new Map<string, CheckedTable>();
  for (const [name, table] of Object.entries(section)) {
    const path = `${SECTION}.${name}`;
    if (!isTable(table)) throw configError(path, `expected a table with a "type", got ${describe(table)}`);
    const { type, ...fields } = table;
    if (type === undefined) throw configError(`${path}.type`, "missing: every store needs a type");
    if (typeof type !== "string") throw configError(`${path}.type`, `expected a string, got ${describe(type)}`);
    const backend = registry.get(type);
    if (!backend) {
      const known = registry.schemes().join(", ") || "none are registered";
      throw configError(`${path}.type`, `unknown store type ${JSON.stringify(type)} (known types: ${known})`);
    }
    tables.set(name, { backend, fields });
  }
  if (!tables.has(ROOT)) {
    throw configError(`${SECTION}.${ROOT}`, "missing: the configuration must name the store to use root");
  }
  checkReferences(tables);
  return tables;
}

/** Every `&name` must name a table, and following references must never come back to where it started. */
function checkReferences(tables: Map<string, CheckedTable>): void {
  const references = (name: string): Array<[key: string, target: string]> =>
    Object.entries((tables.get(name) as CheckedTable).fields).flatMap(([key, value]) =>
      typeof value === "string" && value.startsWith("&") ? [[key, value.slice(1)] as [string, string]] : [],
    );
  for (const name of tables.keys()) {
    for (const [key, target] of references(name)) {
      if (!tables.has(target)) {
        throw configError(
          `${SECTION}.${name}.${key}`,
          `dangling reference "&${target}": there is no ${SECTION}.${target}`,
        );
      }
    }
  }
  const done = new Set<string>();
  const visit = (name: string, trail: string[]): void => {
    if (done.has(name)) return;
    for (const [key, target] of references(name)) {
      const at = trail.indexOf(target);
      if (at !== -1 || target === name) {
        const cycle = [...trail.slice(at === -1 ? trail.length : at), name, target].join(" → ");
        throw configError(`${SECTION}.${name}.${key}`, `reference cycle: ${cycle}`);
      }
      visit(target, [...trail, name]);
    }
    done.add(name);
  };
  for (const name of tables.keys()) visit(name, []);
}

/** The generic mapping: `scheme://host/path?field=value…`, opened (and validated) by the backend. */
async function openGeneric(table: CheckedTable, context: ConfigContext): Promise<BlobService> {
  const { backend, fields } = table;
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value === "string" && value.startsWith("&")) {
      throw context.error(key, `${backend.scheme} stores take no references to other stores`);
    }
    if (URL_FIELDS.has(key)) {
      if (typeof value !== "string") throw context.error(key, `expected a string, got ${describe(value)}`);
      continue;
    }
    if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
      throw context.error(key, `expected a string, number or boolean, got ${describe(value)}`);
    }
    query.append(key, String(value));
  }
  const host = (fields.host as string | undefined) ?? "";
  const path = (fields.path as string | undefined) ?? "";
  if (path !== "" && !path.startsWith("/")) throw context.error("path", `expected an absolute path, got "${path}"`);
  const encodedPath = path.split("/").map(encodeURIComponent).join("/");
  const search = query.toString() !== "" ? `?${query}` : "";
  let url: URL;
  try {
    url = new URL(`${backend.scheme}://${host}${encodedPath}${search}`);
  } catch (error) {
    throw context.error(host !== "" ? "host" : "path", "does not make a valid URL", { cause: error });
  }
  try {
    return await backend.open(url, { signal: context.signal, registry: context.registry });
  } catch (error) {
    // An option the backend refused is a field of the table: name that field.
    const option = isCastoreError(error) ? (error as InvalidAddressError).option : undefined;
    if (option !== undefined && Object.hasOwn(fields, option)) throw keyed(error, `${context.path}.${option}`);
    throw error;
  }
}

/**
 * A configuration's root store, which owns every store the configuration opened: closing it closes
 * them all, the root first.
 */
class ComposedBlobService implements BlobService {
  readonly #root: BlobService;
  readonly #opened: readonly BlobService[];
  #closing: Promise<void> | undefined;

  constructor(root: BlobService, opened: readonly BlobService[]) {
    this.#root = root;
    this.#opened = opened;
  }

  has: BlobService["has"] = (digest, options) => this.#root.has(digest, options);
  openRead: BlobService["openRead"] = (digest, options) => this.#root.openRead(digest, options);
  chunks: BlobService["chunks"] = (digest, options) => this.#root.chunks(digest, options);
  openWrite: BlobService["openWrite"] = (options) => this.#root.openWrite(options);

  close(): Promise<void> {
    this.#closing ??= closeAll(this.#opened);
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Closes stores in reverse opening order (users before what they use); the first failure is thrown. */
async function closeAll(services: readonly BlobService[]): Promise<void> {
  let failure: unknown;
  for (const service of [...services].reverse()) {
    try {
      await service.close();
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
}

/** The same error with the key path in front of its message (once), keeping its code and cause. */
function keyed(error: unknown, path: string): unknown {
  if (!isCastoreError(error) || error.message.startsWith(`${SECTION}.`)) return error;
  error.message = `${path}: ${error.message}`;
  return error;
}

function configError(path: string, message: string): InvalidAddressError {
  return new InvalidAddressError(`${path}: ${message}`);
}

function isTable(value: unknown): value is { [key: string]: ConfigValue } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  if (typeof value === "object") return "a table";
  return `${typeof value} ${JSON.stringify(value)}`;
}
