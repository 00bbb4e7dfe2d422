import type { Database, Statement } from "better-sqlite3";
import type { UploadOwner } from "./uploads.js";

/** A stored blob's row, without its inline bytes. */
export interface BlobMeta {
  readonly size: number;
  readonly chunkSize: number;
  /** Id of the blob's chunk rows, or null when its bytes are inline (a blob of at most one chunk). */
  readonly content: number | null;
}

/** How many chunk rows one DELETE removes, so no statement holds the write lock for long. */
const DELETE_BATCH = 16;

/**
 * A chunk's row id from its content id and sequence number (two parameters): `content << 32 | seq`,
 * computed by SQLite in 64-bit integers (JavaScript numbers would lose bits past 2^53). A blob can
 * have up to 2^32 chunks and the store up to 2^31 uploads.
 */
const CHUNK_ID = "(? * 4294967296 + ?)";
/** The row-id range of one content id's chunks (two parameters, both the content id). */
const CHUNKS_OF = "id BETWEEN ? * 4294967296 AND ? * 4294967296 + 4294967295";

/**
 * Every statement the store runs, prepared once per connection. Each touches at most one chunk's
 * bytes, so other readers and writers in the process interleave between them.
 */
export class Statements {
  readonly db: Database;
  readonly #has: Statement<[Uint8Array], number>;
  readonly #meta: Statement<[Uint8Array], [number, number, number | null]>;
  readonly #inlineData: Statement<[Uint8Array], Buffer>;
  readonly #chunk: Statement<[number, number], [Buffer, Buffer, Buffer]>;
  readonly #insertInline: Statement<[Uint8Array, number, number, Uint8Array]>;
  readonly #insertChunked: Statement<[Uint8Array, number, number, number]>;
  readonly #startUpload: Statement<[string, number, string, number]>;
  readonly #insertChunk: Statement<[number, number, Uint8Array, Uint8Array, Uint8Array, number]>;
  readonly #uploadOpen: Statement<[number], number>;
  readonly #abandonUpload: Statement<[number]>;
  readonly #deleteUpload: Statement<[number]>;
  readonly #deleteChunks: Statement<[number, number, number]>;
  readonly #liveUploads: Statement<[], [number, string, number, string, number]>;
  readonly #abandonLapsed: Statement<[number, number]>;
  readonly #renewUploads: Statement<[number, string]>;
  readonly #abandonedUploads: Statement<[], number>;
  readonly #countBlobs: Statement<[], number>;
  readonly #digestsAfter: Statement<[Uint8Array, number], Buffer>;

  constructor(db: Database) {
    this.db = db;
    this.#has = db.prepare<[Uint8Array], number>("SELECT 1 FROM blobs WHERE digest = ?").pluck();
    this.#meta = db
      .prepare<[Uint8Array], [number, number, number | null]>(
        "SELECT size, chunk_size, content FROM blobs WHERE digest = ?",
      )
      .raw();
    this.#inlineData = db.prepare<[Uint8Array], Buffer>("SELECT data FROM blobs WHERE digest = ?").pluck();
    this.#chunk = db
      .prepare<[number, number], [Buffer, Buffer, Buffer]>(
        `SELECT hash, running, data FROM chunks WHERE id = ${CHUNK_ID}`,
      )
      .raw();
    this.#insertInline = db.prepare(
      "INSERT INTO blobs (digest, size, chunk_size, content, data) VALUES (?, ?, ?, NULL, ?) ON CONFLICT DO NOTHING",
    );
    this.#insertChunked = db.prepare(
      "INSERT INTO blobs (digest, size, chunk_size, content, data) VALUES (?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING",
    );
    this.#startUpload = db.prepare("INSERT INTO uploads (host, pid, process_token, started_at) VALUES (?, ?, ?, ?)");
    // The upload must still be live: once reclaimed or abandoned, it can gain no rows.
    this.#insertChunk = db.prepare(
      `INSERT INTO chunks (id, hash, running, data) SELECT ${CHUNK_ID}, ?, ?, ?
       WHERE EXISTS (SELECT 1 FROM uploads WHERE id = ? AND abandoned = 0)`,
    );
    this.#uploadOpen = db.prepare<[number], number>("SELECT 1 FROM uploads WHERE id = ? AND abandoned = 0").pluck();
    this.#abandonUpload = db.prepare("UPDATE uploads SET abandoned = 1 WHERE id = ?");
    this.#deleteUpload = db.prepare("DELETE FROM uploads WHERE id = ?");
    this.#deleteChunks = db.prepare(
      `DELETE FROM chunks WHERE id IN (SELECT id FROM chunks WHERE ${CHUNKS_OF} LIMIT ?)`,
    );
    this.#liveUploads = db
      .prepare<[], [number, string, number, string, number]>(
        "SELECT id, host, pid, process_token, started_at FROM uploads WHERE abandoned = 0",
      )
      .raw();
    this.#abandonLapsed = db.prepare("UPDATE uploads SET abandoned = 1 WHERE id = ? AND started_at < ?");
    // `started_at` holds when the owner last renewed its lease (it starts as the upload's start).
    this.#renewUploads = db.prepare("UPDATE uploads SET started_at = ? WHERE process_token = ? AND abandoned = 0");
    this.#abandonedUploads = db.prepare<[], number>("SELECT id FROM uploads WHERE abandoned = 1").pluck();
    this.#countBlobs = db.prepare<[], number>("SELECT count(*) FROM blobs").pluck();
    this.#digestsAfter = db
      .prepare<[Uint8Array, number], Buffer>("SELECT digest FROM blobs WHERE digest > ? ORDER BY digest LIMIT ?")
      .pluck();
  }

  has(digest: Uint8Array): boolean {
    return this.#has.get(digest) !== undefined;
  }

  meta(digest: Uint8Array): BlobMeta | undefined {
    const row = this.#meta.get(digest);
    return row && { size: row[0], chunkSize: row[1], content: row[2] };
  }

  /** The bytes of an inline blob (undefined if the row vanished, which a sound file never does). */
  inlineData(digest: Uint8Array): Buffer | undefined {
    return this.#inlineData.get(digest) ?? undefined;
  }

  /** A chunk's stored digests and bytes, or undefined when the row is missing. */
  chunk(content: number, seq: number): [hash: Buffer, running: Buffer, data: Buffer] | undefined {
    return this.#chunk.get(content, seq);
  }

  /** Stores a blob of at most one chunk; false when the digest was already stored. */
  insertInline(digest: Uint8Array, size: number, chunkSize: number, data: Uint8Array): boolean {
    return this.#insertInline.run(digest, size, chunkSize, data).changes === 1;
  }

  /** Points a digest at an upload's chunks; false when the digest was already stored. */
  insertChunked(digest: Uint8Array, size: number, chunkSize: number, content: number): boolean {
    return this.#insertChunked.run(digest, size, chunkSize, content).changes === 1;
  }

  /** Registers an upload owned by `owner`, its lease renewed at `now`; returns its id. */
  startUpload(owner: UploadOwner, now: number): number {
    return Number(this.#startUpload.run(owner.host, owner.pid, owner.token, now).lastInsertRowid);
  }

  /** Renews the leases of every live upload of the process with this token. */
  renewUploads(token: string, now: number): void {
    this.#renewUploads.run(now, token);
  }

  /** Adds a chunk to a live upload; false when the upload was abandoned or reclaimed meanwhile. */
  insertChunk(upload: number, seq: number, hash: Uint8Array, running: Uint8Array, data: Uint8Array): boolean {
    return this.#insertChunk.run(upload, seq, hash, running, data, upload).changes === 1;
  }

  uploadIsOpen(upload: number): boolean {
    return this.#uploadOpen.get(upload) !== undefined;
  }

  abandonUpload(upload: number): void {
    this.#abandonUpload.run(upload);
  }

  /** Deletes up to one batch of a content id's chunk rows; returns how many went. */
  deleteChunkBatch(content: number): number {
    return this.#deleteChunks.run(content, content, DELETE_BATCH).changes;
  }

  deleteUpload(upload: number): void {
    this.#deleteUpload.run(upload);
  }

  /** Uploads not abandoned, as [id, host, pid, process token, lease renewed at (ms)]. */
  liveUploads(): [id: number, host: string, pid: number, token: string, renewedAt: number][] {
    return this.#liveUploads.all();
  }

  /** Abandons an upload unless its lease was renewed at or after `cutoff` (ms). */
  abandonUploadRenewedBefore(upload: number, cutoff: number): void {
    this.#abandonLapsed.run(upload, cutoff);
  }

  abandonedUploads(): number[] {
    return this.#abandonedUploads.all();
  }

  /** Up to `limit` stored digests that sort after `after` (an empty array sorts first), in order. */
  digestsAfter(after: Uint8Array, limit: number): Buffer[] {
    return this.#digestsAfter.all(after, limit);
  }

  countBlobs(): number {
    return this.#countBlobs.get() ?? 0;
  }
}
