import { fstatSync } from "node:fs";
import { open } from "node:fs/promises";
import { addAbortSignal, type Readable } from "node:stream";
import { readFilePieces } from "castore-core/node";
import { UsageError } from "./errors.js";

/** Bytes to store: their pieces, their size when it is known (a regular file), and a name for messages. */
export interface Input {
  /** Each piece is valid until the next is asked for (a file's are read into reused buffers). */
  readonly pieces: AsyncIterable<Uint8Array>;
  readonly size: number | undefined;
  readonly name: string;
  /** Stops reading and releases what it holds (a file's descriptor is closed when this resolves). */
  close(): Promise<void>;
}

const PIECE_BYTES = 1 << 20;

/**
 * Opens what `castore put` stores: FILE, or stdin for `-` or no argument. Stdin that is a terminal
 * is refused unless asked for with `-`, so a bare `castore put` does not sit waiting for typing.
 * Stdin, pipes and devices come as a stream that is destroyed when `signal` fires, so an interrupt
 * also ends a read that is waiting; a regular file's reads never wait.
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
    return { pieces: stream, size: regularFileSize(0), name: "stdin", close: async () => void stream.destroy() };
  }
  const handle = await open(file, "r").catch((error: unknown) => {
    // No `cause`: the reason is already in the message, and error lines repeat causes.
    throw new Error(`cannot read ${file}: ${systemReason(error)}`);
  });
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) throw new Error(`cannot read ${file}: it is a directory`);
    if (stats.isFile()) {
      // A regular file never leaves a read waiting, and two reused buffers spare the garbage
      // collector a fresh one per MiB (see readFilePieces); closing waits for a read in progress.
      return {
        pieces: readFilePieces(handle, { bufferBytes: PIECE_BYTES }),
        size: stats.size,
        name: file,
        close: () => handle.close(),
      };
    }
    // A pipe or device may wait for input indefinitely: a stream, destroyed when `signal` fires.
    const stream = addAbortSignal(signal, handle.createReadStream({ highWaterMark: PIECE_BYTES }));
    const close = async () => {
      stream.destroy();
      await handle.close(); // the stream closes it too; this waits until the descriptor is gone
    };
    return { pieces: stream, size: undefined, name: file, close };
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
