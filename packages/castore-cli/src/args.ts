import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { UsageError } from "./errors.js";

export type OptionSpecs = ParseArgsOptionsConfig;

/** A parsed command line: option values by long name, then the positional arguments. */
export interface CommandLine {
  readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  readonly positionals: readonly string[];
}

/**
 * Parses one command's arguments strictly with `node:util` parseArgs and turns its errors into
 * short usage errors ("unknown option '--foo'"), which exit with status 2.
 */
export function parseCommandLine(args: readonly string[], options: OptionSpecs): CommandLine {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
    return { values, positionals };
  } catch (error) {
    if (isParseArgsError(error)) throw new UsageError(shorten(error.message));
    throw error;
  }
}

/** The value of a string option, if given. */
export function stringOption(line: CommandLine, name: string): string | undefined {
  const value = line.values[name];
  return typeof value === "string" ? value : undefined;
}

/** Whether a boolean flag was given. */
export function flag(line: CommandLine, name: string): boolean {
  return line.values[name] === true;
}

/** Fails unless there are between `min` and `max` positional arguments; `what` names the missing one. */
export function expectPositionals(line: CommandLine, min: number, max: number, what: string): readonly string[] {
  const { positionals } = line;
  if (positionals.length < min) throw new UsageError(`missing ${what}`);
  if (positionals.length > max) {
    const extra = positionals.slice(max).map((p) => `'${p}'`);
    throw new UsageError(`unexpected argument${extra.length > 1 ? "s" : ""} ${extra.join(" ")}`);
  }
  return positionals;
}

function isParseArgsError(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_");
}

/** Node's messages start upper case and sometimes add a second sentence of advice; keep the first. */
function shorten(message: string): string {
  const first = message.split(". ")[0] ?? message;
  return first.charAt(0).toLowerCase() + first.slice(1);
}
