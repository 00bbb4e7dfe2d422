import type { Readable, Writable } from "node:stream";
import type { Logger } from "./logger.js";

/** A terminal-aware stream, as process.stdout/stderr are. */
export type OutputStream = Writable & { isTTY?: boolean | undefined; columns?: number | undefined };

/** What a command runs with: the process's streams and environment, passed in rather than reached for. */
export interface CommandContext {
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: Readable & { isTTY?: boolean | undefined };
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** Fires on the first SIGINT/SIGTERM; its reason is an InterruptedError. */
  readonly signal: AbortSignal;
  /** Structured logs on stderr, at the level --log-level chose. */
  readonly logger: Logger;
}
