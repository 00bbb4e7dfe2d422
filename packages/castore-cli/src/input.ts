import { fstatSync } from "node:fs";
import { open } from "node:fs/promises";
import { addAbortSignal, type Readable } from "node:stream";
import { UsageError } from "./errors.js";

/** Bytes to store: a stream, its size when it is known (a regular file), and a name for messages. */
export interface Input {
  readonly stream: Readable;
  readonly size: number | undefined;
  readonly name: string;
  /** Ends the stream and releases what it holds (a file's descriptor is closed when this resolves). */
  close(): Promise<void>;
}

const CHUNK_SIZE = 1 << 20;

/**
 * Opens what `castore put` stores: FILE, or stdin for `-` or no argument. Stdin that is a terminal
 * is refused unless asked for with `-`, so a bare `castore put` does not sit waiting for typing.
 * The stream is destroyed when `signal` fires, so an interrupt also ends a read that is waiting.
 */
export async function openInput(
  file: string | undefined,
  stdin: Readable & { isTTY?: boolean | undefined },
  signal: AbortSignal,
): Promise<Input> {
  if (file === undefined || file === "-") {
    if (file === undefined && stdin.isTTY) {
      throw new UsageError("no FILE given and stdin is a terminal: name a FILE, pipe data in, or pass '-' to type it");
    }
    const stream = addAbortSignal(signal, stdin);
    return { stream, size: regularFileSize(0), name: "stdin", close: async () => void stream.destroy() };
  }
  const handle = await open(file, "r").catch((error: unknown) => {
    // No `cause`: the reason is already in the message, and error lines repeat causes.
    throw new Error(`cannot read ${file}: ${systemReason(error)}`);
  });
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) throw new Error(`cannot read ${file}: it is a directory`);
    const stream = addAbortSignal(signal, handle.createReadStream({ highWaterMark: CHUNK_SIZE }));
    const close = async () => {
      stream.destroy();
      await handle.close(); // the stream closes it too; this waits until the descriptor is gone
    };
    return { stream, size: stats.isFile() ? stats.size : undefined, name: file, close };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** The size of the file behind a descriptor when it is a regular file (`castore put < file`). */
function regularFileSize(fd: number): number | undefined {
  try {
    const stats = fstatSync(fd);
    return stats.isFile() ? stats.size : undefined;
  } catch {
    return undefined;
  }
}

/** "no such file or directory" out of "ENOENT: no such file or directory, open 'x'". */
function systemReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /^[A-Z0-9_]+: (.*?)(?:, \w+ '.*')?$/.exec(message)?.[1] ?? message;
}
