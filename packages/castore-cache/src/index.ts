export { cacheBackend } from "./backend.js";
export {
  CacheBlobService,
  type CacheBlobServiceOptions,
  type CacheStats,
  type CacheWriteMode,
} from "./cache-service.js";
