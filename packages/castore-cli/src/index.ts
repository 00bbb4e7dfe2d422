// Node-only package: its declarations use Node's types, so they bring them (a consumer on
// TypeScript 6+ loads no @types by default).
/// <reference types="node" preserve="true" />
export { type CliIo, commands, runCli } from "./cli.js";
