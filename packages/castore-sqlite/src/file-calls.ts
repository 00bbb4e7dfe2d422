// The file system calls chunk files and packs are made of, with their failures as castore errors.
import { closeSync, fsync, openSync, unlinkSync } from "node:fs";
import { storageError } from "./sqlite-errors.js";

/**
 * Creates a pack for writing, readable by its owner alone. A new file, not one truncated:
 * ext4 flushes a file truncated and rewritten as soon as it is closed. Each pack is created once,
 * so a file already there is a leftover no row names: one whose upload id a power loss gave
 * back (SQLite's sequence rolled back with the rows that named it). It is replaced.
 */
export function createFile(path: string): number {
  try {
    try {
      return openSync(path, "wx", 0o600);
    } catch (error) {
      if (codeOf(error) !== "EEXIST") throw error;
      unlinkSync(path);
      return openSync(path, "wx", 0o600);
    }
  } catch (error) {
    throw fileError("create a chunk file", path, error);
  }
}

/** Opens a file or directory read-only and syncs it in the thread pool. */
export async function syncPath(path: string, action: string): Promise<void> {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    throw fileError(action, path, error);
  }
  try {
    await new Promise<void>((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
  } catch (error) {
    throw fileError(action, path, error);
  } finally {
    closeSync(fd);
  }
}

export function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | undefined)?.code;
}

/** A failed file call as a castore error: `TooLarge` when the disk is full (see storageError). */
export function fileError(action: string, path: string, error: unknown): Error {
  return storageError(`castore-sqlite failed to ${action} ${path}`, error);
}
