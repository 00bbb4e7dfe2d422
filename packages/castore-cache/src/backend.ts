import { type BlobService, type BlobServiceBackend, defaultRegistry, InvalidAddressError } from "castore-core";
import { oneOf, parseOptions, requireNoHost, requireNoPath } from "castore-core/backend";
import { CacheBlobService, type CacheWriteMode } from "./cache-service.js";

const writeMode = oneOf<CacheWriteMode>("near", "through");
const KEYS = ["near", "far", "write"];

/**
 * The `cache` scheme. As a URL, `cache://?near=URL&far=URL[&write=near|through]` with both inner
 * addresses percent-encoded (encodeURIComponent), opened through the same registry; the cache owns
 * and closes them. In a store configuration, `near` and `far` are `&name` references (or URLs) and
 * the configuration owns the stores.
 */
export const cacheBackend: BlobServiceBackend = {
  scheme: "cache",
  description: "cache://?near=URL&far=URL — a near store in front of a far one, filled as it reads (&write=through)",
  async open(url, options) {
    requireNoHost(url);
    requireNoPath(url);
    const { near, far, write } = parseOptions(url, { near: String, far: String, write: writeMode });
    if (near === undefined || far === undefined) {
      const missing = near === undefined ? "near" : "far";
      throw new InvalidAddressError(`${url.href}: option "${missing}" is missing (a percent-encoded store URL)`, {
        option: missing,
      });
    }
    const registry = options?.registry ?? defaultRegistry;
    const signal = options?.signal;
    const nearStore = await registry.open(near, { signal });
    let farStore: BlobService;
    try {
      farStore = await registry.open(far, { signal });
    } catch (error) {
      await nearStore.close().catch(() => {});
      throw error;
    }
    return new CacheBlobService({ near: nearStore, far: farStore, write });
  },
  async openConfig(table, context) {
    for (const key of Object.keys(table)) {
      if (!KEYS.includes(key)) throw context.error(key, `unknown key (a cache takes ${KEYS.join(", ")})`);
    }
    const write = table.write;
    if (write !== undefined && write !== "near" && write !== "through") {
      throw context.error("write", `expected "near" or "through", got ${JSON.stringify(write)}`);
    }
    const near = await context.openStore("near");
    const far = await context.openStore("far");
    return new CacheBlobService({ near, far, write, closeTiers: false });
  },
};
