import type { Database, Statement } from "better-sqlite3";
import type { UploadOwner } from "./uploads.js";

/** What a digest names in the store: a blob (inline or chunked), or only a chunk of one. */
export type Stored =
  | { readonly kind: "inline"; readonly size: number }
  | { readonly kind: "chunked"; readonly size: number }
  | { readonly kind: "chunk"; readonly size: number };

/** Thrown inside a transaction to roll it back when the upload is gone. */
class UploadGone extends Error {}

/** How many upload chunks one deletion step releases, so no transaction holds the write lock for long. */
const DELETE_BATCH = 16;

/**
 * Every statement the store runs, prepared once per connection. Each touches at most one chunk's
 * bytes, so other readers and writers in the process interleave between them.
 */
export class Statements {
  readonly db: Database;
  readonly #blob: Statement<[Uint8Array], [number, number]>;
  readonly #chunkSize: Statement<[Uint8Array], number>;
  readonly #inlineData: Statement<[Uint8Array], Buffer>;
  readonly #chunkData: Statement<[Uint8Array], Buffer>;
  readonly #chunkList: Statement<[Uint8Array], [Buffer, number]>;
  readonly #insertInline: Statement<[Uint8Array, number, Uint8Array]>;
  readonly #insertChunked: Statement<[Uint8Array, number]>;
  readonly #listUploadChunks: Statement<[Uint8Array, number]>;
  readonly #insertChunk: Statement<[Uint8Array, Uint8Array]>;
  readonly #pinChunk: Statement<[number, number, Uint8Array, number, number]>;
  readonly #startUpload: Statement<[string, number, string, number]>;
  readonly #uploadOpen: Statement<[number], number>;
  readonly #abandonUpload: Statement<[number]>;
  readonly #deleteUpload: Statement<[number]>;
  readonly #dropPins: Statement<[number]>;
  readonly #uploadChunkBatch: Statement<[number, number], [number, Buffer]>;
  readonly #unpinChunk: Statement<[number, number]>;
  readonly #deleteUnusedChunk: Statement<[Uint8Array, Uint8Array, Uint8Array]>;
  readonly #liveUploads: Statement<[], [number, string, number, string, number]>;
  readonly #abandonLapsed: Statement<[number, number]>;
  readonly #renewUploads: Statement<[number, string]>;
  readonly #abandonedUploads: Statement<[], number>;
  readonly #countBlobs: Statement<[], number>;
  readonly #digestsAfter: Statement<[Uint8Array, number], Buffer>;
  readonly #storedBytes: Statement<[], number>;

  constructor(db: Database) {
    this.db = db;
    this.#blob = db
      .prepare<[Uint8Array], [number, number]>("SELECT size, data IS NULL FROM blobs WHERE digest = ?")
      .raw();
    this.#chunkSize = db.prepare<[Uint8Array], number>("SELECT length(data) FROM chunks WHERE digest = ?").pluck();
    this.#inlineData = db.prepare<[Uint8Array], Buffer>("SELECT data FROM blobs WHERE digest = ?").pluck();
    this.#chunkData = db.prepare<[Uint8Array], Buffer>("SELECT data FROM chunks WHERE digest = ?").pluck();
    this.#chunkList = db
      .prepare<[Uint8Array], [Buffer, number]>("SELECT chunk, size FROM blob_chunks WHERE blob = ? ORDER BY seq")
      .raw();
    this.#insertInline = db.prepare("INSERT INTO blobs (digest, size, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING");
    this.#insertChunked = db.prepare(
      "INSERT INTO blobs (digest, size, data) VALUES (?, ?, NULL) ON CONFLICT DO NOTHING",
    );
    this.#listUploadChunks = db.prepare(
      "INSERT INTO blob_chunks (blob, seq, chunk, size) SELECT ?, seq, chunk, size FROM upload_chunks WHERE upload = ?",
    );
    this.#insertChunk = db.prepare("INSERT INTO chunks (digest, data) VALUES (?, ?) ON CONFLICT DO NOTHING");
    // The upload must still be live: once reclaimed or abandoned, it can pin no chunk.
    this.#pinChunk = db.prepare(
      `INSERT INTO upload_chunks (upload, seq, chunk, size) SELECT ?, ?, ?, ?
       WHERE EXISTS (SELECT 1 FROM uploads WHERE id = ? AND abandoned = 0)`,
    );
    this.#startUpload = db.prepare("INSERT INTO uploads (host, pid, process_token, renewed_at) VALUES (?, ?, ?, ?)");
    this.#uploadOpen = db.prepare<[number], number>("SELECT 1 FROM uploads WHERE id = ? AND abandoned = 0").pluck();
    this.#abandonUpload = db.prepare("UPDATE uploads SET abandoned = 1 WHERE id = ?");
    this.#deleteUpload = db.prepare("DELETE FROM uploads WHERE id = ?");
    this.#dropPins = db.prepare("DELETE FROM upload_chunks WHERE upload = ?");
    this.#uploadChunkBatch = db
      .prepare<[number, number], [number, Buffer]>(
        "SELECT seq, chunk FROM upload_chunks WHERE upload = ? ORDER BY seq LIMIT ?",
      )
      .raw();
    this.#unpinChunk = db.prepare("DELETE FROM upload_chunks WHERE upload = ? AND seq = ?");
    this.#deleteUnusedChunk = db.prepare(
      `DELETE FROM chunks WHERE digest = ?
         AND NOT EXISTS (SELECT 1 FROM blob_chunks WHERE chunk = ?)
         AND NOT EXISTS (SELECT 1 FROM upload_chunks WHERE chunk = ?)`,
    );
    this.#liveUploads = db
      .prepare<[], [number, string, number, string, number]>(
        "SELECT id, host, pid, process_token, renewed_at FROM uploads WHERE abandoned = 0",
      )
      .raw();
    this.#abandonLapsed = db.prepare("UPDATE uploads SET abandoned = 1 WHERE id = ? AND renewed_at < ?");
    this.#renewUploads = db.prepare("UPDATE uploads SET renewed_at = ? WHERE process_token = ? AND abandoned = 0");
    this.#abandonedUploads = db.prepare<[], number>("SELECT id FROM uploads WHERE abandoned = 1").pluck();
    this.#countBlobs = db.prepare<[], number>("SELECT count(*) FROM blobs").pluck();
    this.#digestsAfter = db
      .prepare<[Uint8Array, number], Buffer>("SELECT digest FROM blobs WHERE digest > ? ORDER BY digest LIMIT ?")
      .pluck();
    this.#storedBytes = db
      .prepare<[], number>(
        `SELECT (SELECT coalesce(sum(length(data)), 0) FROM blobs) + (SELECT coalesce(sum(length(data)), 0) FROM chunks)`,
      )
      .pluck();
  }

  /** What `digest` names: a stored blob, else a stored chunk; undefined when neither. */
  lookup(digest: Uint8Array): Stored | undefined {
    const blob = this.#blob.get(digest);
    if (blob) return { kind: blob[1] ? "chunked" : "inline", size: blob[0] };
    const chunkSize = this.#chunkSize.get(digest);
    return chunkSize === undefined ? undefined : { kind: "chunk", size: chunkSize };
  }

  /** The bytes of an inline blob (undefined if the row vanished, which a sound file never does). */
  inlineData(digest: Uint8Array): Buffer | undefined {
    return this.#inlineData.get(digest) ?? undefined;
  }

  /** A chunk's bytes, or undefined when no chunk has this digest. */
  chunkData(digest: Uint8Array): Buffer | undefined {
    return this.#chunkData.get(digest) ?? undefined;
  }

  /** A chunked blob's chunks in order, as [digest, size]. */
  chunkList(digest: Uint8Array): [digest: Buffer, size: number][] {
    return this.#chunkList.all(digest);
  }

  /** Stores a one-piece blob; false when the digest was already stored. */
  insertInline(digest: Uint8Array, size: number, data: Uint8Array): boolean {
    return this.#insertInline.run(digest, size, data).changes === 1;
  }

  /**
   * Stores a chunked blob whose chunks an upload holds, listing them; false (and nothing changed)
   * when the digest was already stored. Run inside a transaction.
   */
  insertChunked(digest: Uint8Array, size: number, upload: number): boolean {
    if (this.#insertChunked.run(digest, size).changes !== 1) return false;
    this.#listUploadChunks.run(digest, upload);
    return true;
  }

  /**
   * Stores chunks (once per digest) and pins them to a live upload as its chunks `firstSeq`…, in
   * one transaction: a deletion elsewhere can never take a chunk between its insert and its pin,
   * and a batch costs one commit. False (nothing changed) when the upload was abandoned or
   * reclaimed meanwhile.
   */
  storeChunks(upload: number, firstSeq: number, chunks: readonly { digest: Uint8Array; data: Uint8Array }[]): boolean {
    const store = this.db.transaction(() => {
      for (const [i, { digest, data }] of chunks.entries()) {
        // The whole batch is rolled back: nothing is added to a reclaimed upload.
        if (this.#pinChunk.run(upload, firstSeq + i, digest, data.length, upload).changes !== 1) throw new UploadGone();
        this.#insertChunk.run(digest, data);
      }
    });
    try {
      store.immediate();
      return true;
    } catch (error) {
      if (error instanceof UploadGone) return false;
      throw error;
    }
  }

  /** Registers an upload owned by `owner`, its lease renewed at `now`; returns its id. */
  startUpload(owner: UploadOwner, now: number): number {
    return Number(this.#startUpload.run(owner.host, owner.pid, owner.token, now).lastInsertRowid);
  }

  /** Renews the leases of every live upload of the process with this token. */
  renewUploads(token: string, now: number): void {
    this.#renewUploads.run(now, token);
  }

  uploadIsOpen(upload: number): boolean {
    return this.#uploadOpen.get(upload) !== undefined;
  }

  abandonUpload(upload: number): void {
    this.#abandonUpload.run(upload);
  }

  /**
   * Releases up to one batch of an upload's chunks, deleting those nothing else uses, in one
   * transaction; returns how many were released (0: none left).
   */
  releaseChunkBatch(upload: number): number {
    return this.db
      .transaction(() => {
        const batch = this.#uploadChunkBatch.all(upload, DELETE_BATCH);
        for (const [seq, chunk] of batch) {
          this.#unpinChunk.run(upload, seq);
          this.#deleteUnusedChunk.run(chunk, chunk, chunk);
        }
        return batch.length;
      })
      .immediate();
  }

  /** Deletes an upload's row; its chunks were released, or listed by the blob it committed. */
  deleteUpload(upload: number): void {
    this.#deleteUpload.run(upload);
  }

  /** Drops an upload's chunk pins without releasing the chunks: a committed blob lists them now. */
  finishUpload(upload: number): void {
    this.#dropPins.run(upload);
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

  /** Bytes of blob and chunk data stored (each shared chunk once), without SQLite's own overhead. */
  storedBytes(): number {
    return this.#storedBytes.get() ?? 0;
  }
}
