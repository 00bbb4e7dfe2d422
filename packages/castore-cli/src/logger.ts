import { UsageError } from "./errors.js";

export const logLevels = ["error", "warn", "info", "debug"] as const;
export type LogLevel = (typeof logLevels)[number];

/** Parses a `--log-level` value; anything else is a usage error. */
export function parseLogLevel(value: string | undefined, fallback: LogLevel = "info"): LogLevel {
  if (value === undefined) return fallback;
  const level = value.toLowerCase();
  if ((logLevels as readonly string[]).includes(level)) return level as LogLevel;
  throw new UsageError(`invalid --log-level ${JSON.stringify(value)} (expected one of ${logLevels.join(", ")})`);
}

export type LogFields = Record<string, unknown>;

interface LineSink {
  write(line: string): unknown;
}

/**
 * Structured logs: one JSON object per line (`time`, `level`, `msg`, then the fields), so they can be
 * read by people and fed to log tooling alike. Errors in fields are written as their message.
 */
export class Logger {
  readonly level: LogLevel;
  readonly #sink: LineSink;
  readonly #rank: number;
  #context: (() => LogFields | undefined) | undefined;

  constructor(sink: LineSink, level: LogLevel) {
    this.#sink = sink;
    this.level = level;
    this.#rank = logLevels.indexOf(level);
  }

  /**
   * Fields every line gets from where it is logged, e.g. the id of the call being served (read
   * when a line is written; a line's own fields win).
   */
  setContext(fields: () => LogFields | undefined): void {
    this.#context = fields;
  }

  enabled(level: LogLevel): boolean {
    return logLevels.indexOf(level) <= this.#rank;
  }

  error(msg: string, fields?: LogFields): void {
    this.#log("error", msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.#log("warn", msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.#log("info", msg, fields);
  }

  debug(msg: string, fields?: LogFields): void {
    this.#log("debug", msg, fields);
  }

  #log(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    if (!this.enabled(level)) return;
    const entry = { time: new Date().toISOString(), level, msg, ...this.#context?.(), ...fields };
    this.#sink.write(`${JSON.stringify(entry, replaceErrors)}\n`);
  }
}

function replaceErrors(_key: string, value: unknown): unknown {
  if (value instanceof Error) return value.message;
  if (typeof value === "bigint") return value.toString();
  return value;
}
