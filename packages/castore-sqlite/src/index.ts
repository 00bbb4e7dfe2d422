export { sqliteBackend } from "./backend.js";
export type { SqliteBlobServiceOptions, SynchronousMode } from "./options.js";
export { SCHEMA_VERSION } from "./schema.js";
export { openSqliteBlobService, SqliteBlobService } from "./service.js";
