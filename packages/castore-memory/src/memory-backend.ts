import { type BlobServiceBackend, parseOptions, requireNoHost, requireNoPath } from "castore-core";
import { MemoryBlobService } from "./memory-service.js";

/**
 * The `memory://` scheme (docs/design.md §4): no host, no path, no options. Each open() is a new,
 * empty store.
 */
export const memoryBackend: BlobServiceBackend = {
  scheme: "memory",
  description: "memory:// — in-process, lost when closed",
  async open(url) {
    requireNoHost(url);
    requireNoPath(url);
    parseOptions(url, {});
    return new MemoryBlobService();
  },
};
