import { isCastoreError } from "castore-core";

/** Exit statuses, as documented in the README and `castore --help`. */
export const ExitCode = {
  Ok: 0,
  /** The command ran but failed: blob absent, corrupt, store or network error. */
  Failure: 1,
  /** The command line was wrong: unknown flag, missing argument, malformed digest or URL. */
  Usage: 2,
} as const;

/** A mistake on the command line. Always exit status 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The user interrupted the command (SIGINT/SIGTERM); the exit status follows the shell convention 128+n. */
export class InterruptedError extends Error {
  override readonly name = "InterruptedError";
  readonly signal: NodeJS.Signals;
  readonly exitCode: number;

  constructor(signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
    this.signal = signal;
    this.exitCode = 128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1);
  }
}

/** Castore error codes that mean "you asked for something malformed", not "it failed". */
const usageCodes = new Set(["InvalidDigest", "InvalidAddress", "InvalidArgument"]);

/** The exit status a failure maps to. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return ExitCode.Usage;
  if (error instanceof InterruptedError) return error.exitCode;
  if (isCastoreError(error) && usageCodes.has(error.code)) return ExitCode.Usage;
  return ExitCode.Failure;
}

/**
 * One line describing a failure: the message, followed by the messages of its causes when they add
 * something (a `Backend` error's cause usually says what really went wrong, e.g. ECONNREFUSED).
 */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const message = messageOf(current);
    if (message && !parts.some((part) => part.includes(withoutStatusPrefix(message)))) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  const line = parts.join(": ") || "unknown error";
  const prefix = isCastoreError(error) && error.code === "Integrity" ? "integrity error: " : "";
  return (prefix + line).replace(/\s*\n\s*/g, " ");
}

/** gRPC/Connect errors prefix their message with the status ("[unavailable] connect …"). */
function withoutStatusPrefix(message: string): string {
  return message.replace(/^\[[a-z_]+\] /, "");
}

function messageOf(value: unknown): string {
  if (value instanceof Error) return value.message;
  return typeof value === "string" ? value : "";
}
