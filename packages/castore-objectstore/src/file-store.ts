import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { BackendError } from "castore-core";
import type { ObjectStore } from "./object-store.js";

/**
 * Objects as files under a directory, one file per key (`blobs/b3/HH/HEX`, as snix's local store
 * writes them). A put writes a temporary file next to the target, fsyncs it, renames it into place
 * and fsyncs the directory, so after a crash an object is either whole or absent. Temporary files
 * of a crash mid-put (`.HEX.tmp-…`) are never read and may be removed at any time.
 */
export class FileObjectStore implements ObjectStore {
  readonly description: string;
  readonly #root: string;

  /** `root` must be an absolute path to a directory (created if missing, but not its parents). */
  constructor(root: string) {
    this.#root = root;
    this.description = `directory ${root}`;
  }

  /** Creates the root directory if needed; its parent must exist. */
  async init(): Promise<void> {
    try {
      await mkdir(this.#root, { recursive: false });
    } catch (error) {
      if (codeOf(error) === "EEXIST") {
        const info = await stat(this.#root).catch((cause) => {
          throw this.#error("cannot open", this.#root, cause);
        });
        if (!info.isDirectory()) throw new BackendError(`${this.#root} exists and is not a directory`);
        return;
      }
      throw this.#error("cannot create", this.#root, error);
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const path = this.#path(key);
    try {
      const bytes = await readFile(path);
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (error) {
      if (codeOf(error) === "ENOENT") return undefined;
      throw this.#error("cannot read", path, error);
    }
  }

  async head(key: string): Promise<boolean> {
    const path = this.#path(key);
    try {
      await stat(path);
      return true;
    } catch (error) {
      if (codeOf(error) === "ENOENT") return false;
      throw this.#error("cannot stat", path, error);
    }
  }

  async putIfAbsent(key: string, bytes: Uint8Array): Promise<boolean> {
    if (await this.head(key)) return false;
    const path = this.#path(key);
    const directory = dirname(path);
    const temporary = join(directory, `.${key.slice(key.lastIndexOf("/") + 1)}.tmp-${randomBytes(6).toString("hex")}`);
    try {
      const created = await mkdir(directory, { recursive: true });
      // New directories are entries in their parents: make those entries durable too.
      if (created !== undefined) {
        for (let dir = dirname(created); ; dir = dirname(dir)) {
          await syncDirectory(dir);
          if (dir === this.#root || dirname(dir) === dir) break;
        }
      }
      const file = await open(temporary, "wx");
      try {
        await file.writeFile(bytes);
        await file.sync();
      } finally {
        await file.close();
      }
      // A racing writer of the same key wrote the same bytes: replacing its file is harmless.
      await rename(temporary, path);
      await syncDirectory(directory);
      return true;
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => {});
      throw this.#error("cannot write", path, error);
    }
  }

  async close(): Promise<void> {}

  /**
   * Deletes an object (an absent one is fine) and makes that durable: a bounded store deletes a
   * blob object before the chunks it lists, and that order must survive a power loss. Not part of
   * {@link ObjectStore}: only a bounded file store deletes (see file-eviction.ts).
   */
  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    try {
      await rm(path, { force: true });
      await syncDirectory(dirname(path));
    } catch (error) {
      if (codeOf(error) === "ENOENT") return;
      throw this.#error("cannot delete", path, error);
    }
  }

  /** Sets an object's modification time (ms since the epoch); an absent object is skipped. */
  async setModified(key: string, ms: number): Promise<void> {
    const path = this.#path(key);
    try {
      await utimes(path, ms / 1000, ms / 1000);
    } catch (error) {
      if (codeOf(error) !== "ENOENT") throw this.#error("cannot touch", path, error);
    }
  }

  /**
   * Every object under `directory/b3/` (`blobs` or `chunks`), with its size and modification
   * time; temporary files of interrupted puts are left out.
   */
  async *objectsUnder(directory: "blobs" | "chunks"): AsyncGenerator<StoredObject> {
    const base = join(this.#root, directory, "b3");
    for (const shard of await listOrEmpty(base)) {
      for (const name of await listOrEmpty(join(base, shard))) {
        if (name.startsWith(".")) continue;
        const key = `${directory}/b3/${shard}/${name}`;
        try {
          const info = await stat(this.#path(key));
          if (info.isFile()) yield { key, name, size: info.size, modifiedMs: info.mtimeMs };
        } catch (error) {
          if (codeOf(error) !== "ENOENT") throw this.#error("cannot stat", this.#path(key), error);
        }
      }
    }
  }

  /** The file of a key (keys come from layout.ts: hex digests and fixed words, never ".."). */
  #path(key: string): string {
    const path = join(this.#root, ...key.split("/"));
    const inside = relative(this.#root, path);
    if (inside === "" || inside.startsWith(`..${sep}`) || inside === "..") {
      throw new BackendError(`object key ${JSON.stringify(key)} leaves the store's directory`);
    }
    return path;
  }

  #error(what: string, path: string, cause: unknown): BackendError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new BackendError(`${what} ${path}: ${reason}`, { cause });
  }
}

/** An object found by {@link FileObjectStore.objectsUnder}. */
export interface StoredObject {
  readonly key: string;
  /** The file name: the digest's hex, for castore's layout. */
  readonly name: string;
  readonly size: number;
  readonly modifiedMs: number;
}

async function listOrEmpty(directory: string): Promise<string[]> {
  try {
    return await readdir(directory);
  } catch (error) {
    if (codeOf(error) === "ENOENT" || codeOf(error) === "ENOTDIR") return [];
    throw new BackendError(`cannot list ${directory}: ${(error as Error).message}`, { cause: error });
  }
}

async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}
