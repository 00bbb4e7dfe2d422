export { memoryBackend } from "./memory-backend.js";
export { MemoryBlobService, type MemoryBlobServiceOptions } from "./memory-service.js";
