import type { BlobServiceBackend } from "castore-core";
import {
  integerOption,
  MAX_AVG_CHUNK_SIZE,
  MIN_AVG_CHUNK_SIZE,
  parseOptions,
  requireNoHost,
  requireNoPath,
} from "castore-core/backend";
import { MemoryBlobService } from "./memory-service.js";

/**
 * The `memory://` scheme (docs/design.md §4): no host, no path; one option, `avg_chunk_size` (bytes, 512 to 2097152,
 * default 262144). Each open() is a new, empty store.
 */
export const memoryBackend: BlobServiceBackend = {
  scheme: "memory",
  description: "memory:// — in-process, lost when closed (?avg_chunk_size=262144)",
  async open(url) {
    requireNoHost(url);
    requireNoPath(url);
    const options = parseOptions(url, { avg_chunk_size: integerOption(MIN_AVG_CHUNK_SIZE, MAX_AVG_CHUNK_SIZE) });
    return new MemoryBlobService({ avgChunkSize: options.avg_chunk_size });
  },
};
