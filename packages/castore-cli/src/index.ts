export { type CliIo, commands, runCli } from "./cli.js";
