export { memoryBackend } from "./memory-backend.js";
export { MemoryBlobService } from "./memory-service.js";
