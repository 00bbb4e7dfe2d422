import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import Database from "better-sqlite3";
import { type Blake3Implementation, blake3, InvalidArgumentError } from "castore-core";
import { AbandonedUploads } from "./abandoned-uploads.js";
import { assertSupportedNode } from "./node-support.js";
import type { ResolvedOptions } from "./options.js";
import { prepareDatabase } from "./schema.js";
import { asBackendError, sqliteCall } from "./sqlite-errors.js";
import { Statements } from "./statements.js";
import { abandonDeadUploads } from "./uploads.js";

/** An open store file: the connection, its prepared statements and what writers and readers share. */
export class Store {
  readonly db: Database.Database;
  readonly statements: Statements;
  readonly blake3: Blake3Implementation;
  readonly options: ResolvedOptions;
  /** Deletes the rows of uploads that will never commit, retrying while SQLite refuses. */
  readonly abandonedUploads: AbandonedUploads;
  /** Absolute path of the database file. */
  readonly file: string;
  /** The directory to delete on close, for a temporary store. */
  readonly #temporaryDir: string | undefined;
  /** One chunk buffer kept from a finished writer for the next (fresh memory costs page faults). */
  #spareChunkBuffer: Uint8Array | undefined;
  readonly #syncFull: Database.Statement | undefined;
  readonly #syncNormal: Database.Statement | undefined;

  private constructor(
    db: Database.Database,
    blake3: Blake3Implementation,
    options: ResolvedOptions,
    file: string,
    temporaryDir: string | undefined,
  ) {
    this.db = db;
    this.statements = new Statements(db);
    this.blake3 = blake3;
    this.options = options;
    this.file = file;
    this.#temporaryDir = temporaryDir;
    this.abandonedUploads = new AbandonedUploads(file, this.statements);
    if (options.synchronous === "full" && !options.readonly) {
      this.#syncFull = db.prepare("PRAGMA synchronous = FULL");
      this.#syncNormal = db.prepare("PRAGMA synchronous = NORMAL");
    }
  }

  /** Opens (creating if allowed) the file the options name and reclaims what dead writers left. */
  static async open(options: ResolvedOptions): Promise<Store> {
    assertSupportedNode();
    const implementation = await blake3();
    const { file, temporaryDir } = locate(options);
    let db: Database.Database | undefined;
    try {
      db = sqliteCall(`open ${file}`, () => {
        const connection = new Database(file, {
          readonly: options.readonly,
          fileMustExist: options.readonly,
          timeout: options.busyTimeout,
        });
        try {
          prepareDatabase(connection, options.readonly, file);
          // Chunks are written without waiting for the disk; `durably` syncs once per blob.
          if (!options.readonly) connection.pragma("synchronous = NORMAL");
        } catch (error) {
          connection.close();
          throw error;
        }
        return connection;
      });
      const store = new Store(db, implementation, options, file, temporaryDir);
      if (!options.readonly) {
        const { statements, abandonedUploads } = store;
        await abandonedUploads.abandon(abandonDeadUploads(statements, abandonedUploads.pending));
      }
      return store;
    } catch (error) {
      if (db?.open) db.close();
      if (temporaryDir) rmSync(temporaryDir, { recursive: true, force: true });
      throw asBackendError(`open ${file}`, error);
    }
  }

  /**
   * Runs the statements that make a blob visible. With `synchronous: full` the commit syncs the
   * write-ahead log, which also makes every chunk written before it durable: one fsync per blob.
   */
  durably<T>(commit: () => T): T {
    if (!this.#syncFull || !this.#syncNormal) return commit();
    this.#syncFull.run();
    try {
      return commit();
    } finally {
      this.#syncNormal.run();
    }
  }

  /** A buffer of the chunk size for a writer: the spare one if there is one. */
  takeChunkBuffer(): Uint8Array {
    const buffer = this.#spareChunkBuffer ?? Buffer.allocUnsafeSlow(this.options.chunkSize);
    this.#spareChunkBuffer = undefined;
    return buffer;
  }

  /** Takes back a writer's chunk buffer once nothing refers to its bytes any more. */
  returnChunkBuffer(buffer: Uint8Array): void {
    if (buffer.length === this.options.chunkSize) this.#spareChunkBuffer = buffer;
  }

  /** Closes the connection; a temporary store's files are deleted. */
  close(): void {
    this.#spareChunkBuffer = undefined;
    try {
      if (this.db.open && !this.options.readonly) this.abandonedUploads.close();
      if (this.db.open) this.db.close();
    } finally {
      if (this.#temporaryDir) {
        rmSync(this.#temporaryDir, { recursive: true, force: true });
        this.abandonedUploads.forgetAll();
      }
    }
  }

  /** Whether the connection is closed and, for a temporary store, its files are gone. */
  get released(): boolean {
    return !this.db.open && (this.#temporaryDir === undefined || !exists(this.#temporaryDir));
  }
}

/** Where the database file goes: the given path (checked) or a fresh temporary directory. */
function locate(options: ResolvedOptions): { file: string; temporaryDir: string | undefined } {
  if (options.path === "") {
    if (options.readonly) throw new InvalidArgumentError("a temporary store cannot be read-only: it starts empty");
    const temporaryDir = mkdtempSync(join(tmpdir(), "castore-sqlite-"));
    return { file: join(temporaryDir, "blobs.sqlite"), temporaryDir };
  }
  if (options.path.includes("\0")) throw new InvalidArgumentError("the database path contains a NUL character");
  const file = resolve(options.path);
  if (file === resolve("/")) throw new InvalidArgumentError(`${file} is the root directory, not a database file`);
  const parent = dirname(file);
  const parentStat = statOrUndefined(parent);
  if (!parentStat) throw new InvalidArgumentError(`cannot open ${file}: its directory ${parent} does not exist`);
  if (!parentStat.isDirectory()) throw new InvalidArgumentError(`cannot open ${file}: ${parent} is not a directory`);
  const fileStat = statOrUndefined(file);
  if (fileStat?.isDirectory()) throw new InvalidArgumentError(`${file} is a directory, not a database file`);
  // SQLite would only say "unable to open database file"; name the file and the reason instead.
  if (!fileStat && options.readonly) {
    throw new InvalidArgumentError(`cannot open ${file} read-only: the file does not exist`);
  }
  return { file, temporaryDir: undefined };
}

function statOrUndefined(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function exists(path: string): boolean {
  return statOrUndefined(path) !== undefined;
}
