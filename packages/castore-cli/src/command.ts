import type { CommandLine, OptionSpecs } from "./args.js";
import type { CommandContext } from "./context.js";

/** One `castore` subcommand. */
export interface Command {
  readonly name: string;
  /** One line for `castore --help`. */
  readonly summary: string;
  /** The full `castore <name> --help` text. */
  help(): string;
  /** The command's own options (help and --log-level are added for every command). */
  readonly options: OptionSpecs;
  /** Runs the command and returns its exit status; failures are thrown and mapped by the caller. */
  run(line: CommandLine, context: CommandContext): Promise<number>;
}

/** Options every command takes. */
export const commonOptions = {
  help: { type: "boolean", short: "h" },
  "log-level": { type: "string" },
} as const satisfies OptionSpecs;

/** Options of the commands that talk to a store as clients (put, cat, stat). */
export const clientOptions = {
  "blob-service-addr": { type: "string" },
  config: { type: "string" },
} as const satisfies OptionSpecs;

export const quietOption = {
  quiet: { type: "boolean", short: "q" },
} as const satisfies OptionSpecs;
