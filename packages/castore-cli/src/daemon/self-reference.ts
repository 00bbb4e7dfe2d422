import type { StoreChoice } from "../store.js";
import { readConfigFile } from "../store-config.js";

/**
 * Every store address a daemon's store choice reaches, so the daemon can refuse to be its own store
 * however deep the loop hides (a daemon that serves itself answers each call with a call to itself,
 * until it runs out of connections): the address itself, the addresses inside it (a `cache://`'s
 * `near` and `far`, any query value that is itself a store URL), and for a configuration file the
 * address of each `grpc+…` table and every field that holds a store URL. A file that cannot be read
 * or parsed yields nothing here: opening the store reports it.
 */
export async function storeAddressesOf(choice: StoreChoice): Promise<string[]> {
  if (choice.configFile === undefined) return addressesIn(choice.address);
  let config: unknown;
  try {
    config = await readConfigFile(choice.configFile);
  } catch {
    return [];
  }
  const addresses: string[] = [];
  const tables = (config as { blobservices?: unknown })?.blobservices;
  if (typeof tables !== "object" || tables === null) return addresses;
  for (const table of Object.values(tables)) {
    if (typeof table !== "object" || table === null) continue;
    const { type, host, path } = table as Record<string, unknown>;
    if (typeof type === "string" && type.startsWith("grpc+")) {
      addresses.push(`${type}://${typeof host === "string" ? host : ""}${typeof path === "string" ? path : ""}`);
    }
    for (const value of Object.values(table)) if (typeof value === "string") addresses.push(...addressesIn(value));
  }
  return addresses;
}

/** `text` if it is a store URL, with the store URLs in its query, recursively; nothing otherwise. */
function addressesIn(text: string, depth = 0): string[] {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return [];
  }
  const found = [text];
  // A bound on nesting: a crafted address must not make this walk run away.
  if (depth < 8) for (const value of url.searchParams.values()) found.push(...addressesIn(value, depth + 1));
  return found;
}
