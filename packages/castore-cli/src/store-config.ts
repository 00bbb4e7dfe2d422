import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { type BlobService, InvalidAddressError, isInvalidAddress, openStoreConfig } from "castore-core";
import { parse as parseToml, TomlError } from "smol-toml";
import { registerAllBackends } from "./backends.js";
import { UsageError } from "./errors.js";

/**
 * Opens the root store of a configuration file (`--config FILE`): TOML for `.toml`, JSON for
 * `.json`, in snix's shape (`[blobservices.root] type = "cache", near = "&local", …`; see the README).
 * Every backend castore ships is registered first, so any scheme can appear as a `type`.
 */
export async function openConfigFile(file: string, signal?: AbortSignal): Promise<BlobService> {
  const config = await readConfigFile(file);
  await registerAllBackends();
  try {
    return await openStoreConfig(config, { signal });
  } catch (error) {
    if (isInvalidAddress(error)) error.message = `${file}: ${error.message}`;
    throw error;
  }
}

/** The parsed configuration file (errors as openConfigFile reports them). */
export async function readConfigFile(file: string): Promise<unknown> {
  return parseConfigText(file, await readConfig(file));
}

async function readConfig(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read the configuration ${file}${code ? ` (${code})` : ""}`);
  }
}

/** The parsed file; syntax errors are `InvalidAddress` errors that say where. */
export function parseConfigText(file: string, text: string): unknown {
  const format = extname(file).toLowerCase();
  try {
    if (format === ".toml") return parseToml(text);
    if (format === ".json") return JSON.parse(text);
  } catch (error) {
    const where = error instanceof TomlError ? ` (line ${error.line}, column ${error.column})` : "";
    const why = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new InvalidAddressError(`${file}: not valid ${format.slice(1).toUpperCase()}${where}: ${why}`, {
      cause: error,
    });
  }
  throw new UsageError(`${file}: a configuration file ends in .toml or .json`);
}
