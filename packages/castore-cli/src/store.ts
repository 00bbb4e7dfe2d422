import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { type BlobService, defaultRegistry, fromAddr } from "castore-core";
import { type CommandLine, stringOption } from "./args.js";
import { registerAllBackends, registerBackendFor } from "./backends.js";
import type { CommandContext } from "./context.js";
import { defaultStorePath, sqliteAddress } from "./default-store.js";
import { UsageError } from "./errors.js";
import type { Logger } from "./logger.js";
import { openConfigFile } from "./store-config.js";

/** The store a command will use, and where that choice came from (for messages and logs). */
export interface StoreChoice {
  /** The store's URL, or "config FILE" for a configuration file. */
  readonly address: string;
  /** A configuration file (`--config`) to open instead of an address. */
  readonly configFile?: string | undefined;
  /** The default store: its directory may be created. No other directory ever is. */
  readonly defaultPath?: string | undefined;
}

/** The environment variable client commands read when --blob-service-addr is not given. */
export const ADDRESS_ENV = "CASTORE_BLOB_SERVICE_ADDR";

/**
 * Picks the store: the flag, else (for client commands) CASTORE_BLOB_SERVICE_ADDR, else the
 * default SQLite file. The daemon does not read the variable: it is meant for clients, and a daemon
 * that picked it up could end up serving itself.
 */
export function chooseStore(
  flagValue: string | undefined,
  env: NodeJS.ProcessEnv,
  useEnv: boolean,
  configFile?: string,
): StoreChoice {
  if (configFile !== undefined) {
    if (flagValue !== undefined) throw new UsageError("give --config or --blob-service-addr, not both");
    if (configFile === "") throw new UsageError("--config needs a file");
    return { address: `config ${configFile}`, configFile };
  }
  if (flagValue !== undefined) return { address: flagValue };
  const fromEnv = useEnv ? env[ADDRESS_ENV] : undefined;
  if (fromEnv) return { address: fromEnv };
  const path = defaultStorePath(env);
  return { address: sqliteAddress(path), defaultPath: path };
}

/** Opens the chosen store, creating the default store's directory if that is the one chosen. */
export async function openStore(choice: StoreChoice, logger: Logger, signal?: AbortSignal): Promise<BlobService> {
  if (choice.configFile !== undefined) {
    const store = await openConfigFile(choice.configFile, signal);
    logger.debug("store opened", { store: choice.address });
    return store;
  }
  await registerBackendFor(choice.address);
  // Private whatever the umask: other local users must not read the store's blobs.
  if (choice.defaultPath !== undefined) await mkdir(dirname(choice.defaultPath), { recursive: true, mode: 0o700 });
  const store = await fromAddr(choice.address, { signal });
  logger.debug("store opened", { store: choice.address });
  return store;
}

/**
 * The store of a client command (put, cat, stat, verify): --config, --blob-service-addr, the
 * environment or the default.
 */
export function openClientStore(line: CommandLine, context: CommandContext): Promise<BlobService> {
  const choice = chooseStore(stringOption(line, "blob-service-addr"), context.env, true, stringOption(line, "config"));
  return openStore(choice, context.logger, context.signal);
}

/** "scheme://  description" lines of every registered backend, for help texts. */
export async function describeBackends(): Promise<string[]> {
  await registerAllBackends();
  return defaultRegistry.schemes().map((scheme) => defaultRegistry.get(scheme)?.description ?? `${scheme}://`);
}
