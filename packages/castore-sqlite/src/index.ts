// Node-only package: its declarations use Node's types, so they bring them (a consumer on
// TypeScript 6+ loads no @types by default).
/// <reference types="node" preserve="true" />
export { sqliteBackend } from "./backend.js";
export type { SqliteBlobServiceOptions, SynchronousMode } from "./options.js";
export { SCHEMA_VERSION } from "./schema.js";
export { openSqliteBlobService, SqliteBlobService } from "./service.js";
