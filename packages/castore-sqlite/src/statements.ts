import type { Database, Statement } from "better-sqlite3";
import type { ChunkFileLocation } from "./chunk-files.js";
import { type PackRef, PackRows } from "./pack-rows.js";
import type { UploadOwner } from "./uploads.js";

/** What a digest names in the store: a blob (inline or chunked), or only a chunk of one. */
export type Stored =
  | { readonly kind: "inline"; readonly size: number }
  | { readonly kind: "chunked"; readonly size: number }
  | { readonly kind: "chunk"; readonly size: number };

/** A chunk row's file columns as a location (a file of its own has no offset). */
function locationOf(upload: number, pack: number | null, offset: number | null): ChunkFileLocation {
  return { upload, pack, offset: offset ?? 0 };
}

/** Thrown inside a transaction to roll it back when the upload is gone. */
class UploadGone extends Error {}

/** Counts of what one connection's writes and evictions did (the store's statistics). */
export interface Activity {
  /** Chunks and one-piece blobs stored that were not there. */
  chunksWritten: number;
  /** Chunks and one-piece blobs written that were already stored. */
  chunksDeduplicated: number;
  /** Blobs evicted to keep the store within its `maxSize`. */
  evictions: number;
  blobsAdded: number;
  blobsRemoved: number;
}

/** How many upload chunks one deletion step releases, so no transaction holds the write lock for long. */
const DELETE_BATCH = 16;

/**
 * Every statement the store runs, prepared once per connection. Each touches at most one chunk's
 * bytes, so other readers and writers in the process interleave between them.
 */
export class Statements {
  readonly db: Database;
  /** The `packs` table's statements. */
  readonly packs: PackRows;
  readonly #blob: Statement<[Uint8Array], [number, number]>;
  readonly #chunkSize: Statement<[Uint8Array], number>;
  readonly #inlineData: Statement<[Uint8Array], Buffer>;
  readonly #chunkLocation: Statement<[Uint8Array], [number | null, number | null, number | null, Buffer | null]>;
  readonly #chunkFile: Statement<[Uint8Array], [number | null, number | null, number | null]>;
  readonly #chunkList: Statement<[Uint8Array], [Buffer, number]>;
  readonly #chunkListFiles: Statement<[Uint8Array], [Buffer, number, number | null, number | null, number | null]>;
  readonly #chunkListSeal: Statement<[Uint8Array], Buffer | null>;
  readonly #insertInline: Statement<[Uint8Array, number, Uint8Array]>;
  readonly #insertChunked: Statement<[Uint8Array, number, Uint8Array]>;
  readonly #listUploadChunks: Statement<[Uint8Array, number]>;
  readonly #insertChunk: Statement<[Uint8Array, number, number, number | null, number]>;
  readonly #insertChunkRow: Statement<[Uint8Array, Uint8Array]>;
  readonly #pinChunk: Statement<[number, number, Uint8Array, number, number]>;
  readonly #startUpload: Statement<[string, number, string, number]>;
  readonly #uploadOpen: Statement<[number], number>;
  readonly #abandonUpload: Statement<[number]>;
  readonly #deleteUpload: Statement<[number]>;
  readonly #dropPins: Statement<[number]>;
  readonly #uploadChunkBatch: Statement<[number, number], [number, Buffer]>;
  readonly #unpinChunk: Statement<[number, number]>;
  readonly #deleteUnusedChunk: Statement<[Uint8Array, Uint8Array, Uint8Array], [number, number | null, number | null]>;
  readonly #liveUploads: Statement<[], [number, string, number, string, number]>;
  readonly #abandonLapsed: Statement<[number, number]>;
  readonly #renewUploads: Statement<[number, string]>;
  readonly #abandonedUploads: Statement<[], number>;
  readonly #countBlobs: Statement<[], number>;
  readonly #digestsAfter: Statement<[Uint8Array, number], Buffer>;
  readonly #storedBytes: Statement<[], number>;
  readonly #insertBlobUse: Statement<[Uint8Array, number]>;
  readonly #touchBlob: Statement<[number, Uint8Array]>;
  readonly #leastRecentlyUsed: Statement<[number, number, Uint8Array, number], [Buffer, number]>;
  readonly #deleteInline: Statement<[Uint8Array], number | null>;
  readonly #deleteBlobUse: Statement<[Uint8Array]>;
  readonly #startReleasedUpload: Statement<[string, number, string, number]>;
  readonly #moveChunkList: Statement<[number, Uint8Array]>;
  readonly #deleteChunkList: Statement<[Uint8Array]>;
  readonly #dataVersion: Statement<[], number>;
  readonly #recordFileDelete: Statement<[Uint8Array, number]>;
  readonly #isLegacyUpload: Statement<[number], number>;
  readonly #forgetLegacyUpload: Statement<[number]>;
  readonly #forgetFileDelete: Statement<[Uint8Array, number]>;
  readonly #filesToDelete: Statement<[number], [Buffer, number]>;
  /**
   * Bytes of data this connection added (positive) or deleted (negative) since it opened, counted
   * from what its committed statements changed: with a measurement of {@link storedBytes} and
   * `PRAGMA data_version` (which moves only when another connection commits), the stored size is
   * known without scanning the tables after every write.
   */
  #bytesChanged = 0;
  readonly #activity: Activity = {
    chunksWritten: 0,
    chunksDeduplicated: 0,
    evictions: 0,
    blobsAdded: 0,
    blobsRemoved: 0,
  };

  constructor(db: Database) {
    this.db = db;
    this.packs = new PackRows(db);
    this.#blob = db
      .prepare<[Uint8Array], [number, number]>("SELECT size, data IS NULL FROM blobs WHERE digest = ?")
      .raw();
    this.#chunkSize = db
      .prepare<[Uint8Array], number>("SELECT coalesce(size, length(data)) FROM chunks WHERE digest = ?")
      .pluck();
    this.#inlineData = db.prepare<[Uint8Array], Buffer>("SELECT data FROM blobs WHERE digest = ?").pluck();
    // A row of a chunk file reads no bytes: only a row from before chunk files has them.
    this.#chunkLocation = db
      .prepare<[Uint8Array], [number | null, number | null, number | null, Buffer | null]>(
        "SELECT upload, pack, offset, CASE WHEN upload IS NULL THEN data END FROM chunks WHERE digest = ?",
      )
      .raw();
    this.#chunkFile = db
      .prepare<[Uint8Array], [number | null, number | null, number | null]>(
        "SELECT upload, pack, offset FROM chunks WHERE digest = ?",
      )
      .raw();
    this.#chunkList = db
      .prepare<[Uint8Array], [Buffer, number]>("SELECT chunk, size FROM blob_chunks WHERE blob = ? ORDER BY seq")
      .raw();
    // LEFT JOIN: a chunk row gone missing (damage) still shows in the list, to fail its read.
    this.#chunkListFiles = db
      .prepare<[Uint8Array], [Buffer, number, number | null, number | null, number | null]>(
        `SELECT bc.chunk, bc.size, c.upload, c.pack, c.offset FROM blob_chunks bc LEFT JOIN chunks c ON c.digest = bc.chunk
         WHERE bc.blob = ? ORDER BY bc.seq`,
      )
      .raw();
    this.#chunkListSeal = db
      .prepare<[Uint8Array], Buffer | null>("SELECT chunk_list_seal FROM blobs WHERE digest = ?")
      .pluck();
    this.#insertInline = db.prepare("INSERT INTO blobs (digest, size, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING");
    this.#insertChunked = db.prepare(
      "INSERT INTO blobs (digest, size, data, chunk_list_seal) VALUES (?, ?, NULL, ?) ON CONFLICT DO NOTHING",
    );
    this.#listUploadChunks = db.prepare(
      "INSERT INTO blob_chunks (blob, seq, chunk, size) SELECT ?, seq, chunk, size FROM upload_chunks WHERE upload = ?",
    );
    this.#insertChunk = db.prepare(
      "INSERT INTO chunks (digest, data, size, upload, pack, offset) VALUES (?, x'', ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    );
    this.#insertChunkRow = db.prepare("INSERT INTO chunks (digest, data) VALUES (?, ?) ON CONFLICT DO NOTHING");
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
    this.#deleteUnusedChunk = db
      .prepare<[Uint8Array, Uint8Array, Uint8Array], [number, number | null, number | null]>(
        `DELETE FROM chunks WHERE digest = ?
           AND NOT EXISTS (SELECT 1 FROM blob_chunks WHERE chunk = ?)
           AND NOT EXISTS (SELECT 1 FROM upload_chunks WHERE chunk = ?)
         RETURNING coalesce(size, length(data)), upload, pack`,
      )
      .raw();
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
        `SELECT (SELECT coalesce(sum(length(data)), 0) FROM blobs) + (SELECT coalesce(sum(coalesce(size, length(data))), 0) FROM chunks)`,
      )
      .pluck();
    this.#insertBlobUse = db.prepare(
      "INSERT INTO blob_use (blob, used_at) VALUES (?, ?) ON CONFLICT DO UPDATE SET used_at = max(used_at, excluded.used_at)",
    );
    // Every stored blob has its row (inserted with the blob): a blob evicted meanwhile gains none.
    this.#touchBlob = db.prepare("UPDATE blob_use SET used_at = max(used_at, ?) WHERE blob = ?");
    // The most recently used blob (the last in this order) is never a candidate (see eviction.ts).
    this.#leastRecentlyUsed = db
      .prepare<[number, number, Uint8Array, number], [Buffer, number]>(
        `SELECT blob, used_at FROM blob_use
         WHERE (used_at, blob) < (SELECT used_at, blob FROM blob_use ORDER BY used_at DESC, blob DESC LIMIT 1)
           AND (used_at > ? OR (used_at = ? AND blob > ?))
         ORDER BY used_at, blob LIMIT ?`,
      )
      .raw();
    this.#deleteInline = db
      .prepare<[Uint8Array], number | null>("DELETE FROM blobs WHERE digest = ? RETURNING length(data)")
      .pluck();
    this.#deleteBlobUse = db.prepare("DELETE FROM blob_use WHERE blob = ?");
    this.#startReleasedUpload = db.prepare(
      "INSERT INTO uploads (host, pid, process_token, renewed_at, abandoned) VALUES (?, ?, ?, ?, 1)",
    );
    this.#moveChunkList = db.prepare(
      "INSERT INTO upload_chunks (upload, seq, chunk, size) SELECT ?, seq, chunk, size FROM blob_chunks WHERE blob = ?",
    );
    this.#deleteChunkList = db.prepare("DELETE FROM blob_chunks WHERE blob = ?");
    this.#dataVersion = db.prepare<[], number>("PRAGMA data_version").pluck();
    this.#recordFileDelete = db.prepare(
      "INSERT INTO chunk_files_to_delete (digest, file) VALUES (?, ?) ON CONFLICT DO NOTHING",
    );
    this.#isLegacyUpload = db.prepare<[number], number>("SELECT 1 FROM legacy_uploads WHERE id = ?").pluck();
    this.#forgetLegacyUpload = db.prepare("DELETE FROM legacy_uploads WHERE id = ?");
    this.#forgetFileDelete = db.prepare("DELETE FROM chunk_files_to_delete WHERE digest = ? AND file = ?");
    this.#filesToDelete = db
      .prepare<[number], [Buffer, number]>("SELECT digest, file FROM chunk_files_to_delete LIMIT ?")
      .raw();
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

  /**
   * Where a chunk's bytes are: the file that holds them, or the bytes themselves (a row from before
   * chunk files); undefined when no chunk has this digest.
   */
  chunkLocation(digest: Uint8Array): { readonly file: ChunkFileLocation } | { readonly data: Buffer } | undefined {
    const row = this.#chunkLocation.get(digest);
    if (!row) return undefined;
    const [file, pack, offset, data] = row;
    return file === null ? { data: data ?? Buffer.alloc(0) } : { file: locationOf(file, pack, offset) };
  }

  /** Where a chunk's file is: null for bytes in its row, undefined when no chunk has this digest. */
  #fileOf(digest: Uint8Array): ChunkFileLocation | null | undefined {
    const row = this.#chunkFile.get(digest);
    if (!row) return undefined;
    const [file, pack, offset] = row;
    return file === null ? null : locationOf(file, pack, offset);
  }

  /** A chunked blob's chunks in order, as [digest, size]. */
  chunkList(digest: Uint8Array): [digest: Buffer, size: number][] {
    return this.#chunkList.all(digest);
  }

  /**
   * A chunked blob's chunks in order, as [digest, size, file]: `file` as in chunkLocation (where
   * the chunk's bytes were when the list was read), null for bytes in the row or a chunk row that
   * is missing.
   */
  chunkListWithFiles(digest: Uint8Array): [digest: Buffer, size: number, file: ChunkFileLocation | null][] {
    return this.#chunkListFiles
      .all(digest)
      .map(([chunk, size, file, pack, offset]) => [chunk, size, file === null ? null : locationOf(file, pack, offset)]);
  }

  /** The seal stored with a chunked blob's list; null for a blob stored before seals (or none). */
  chunkListSeal(digest: Uint8Array): Buffer | null {
    return this.#chunkListSeal.get(digest) ?? null;
  }

  /**
   * Stores a one-piece blob, used at `usedAt`, in one transaction; false when the digest was
   * already stored (then only its use is recorded).
   */
  insertInline(digest: Uint8Array, size: number, data: Uint8Array, usedAt: number): boolean {
    const inserted = this.db
      .transaction(() => {
        const stored = this.#insertInline.run(digest, size, data).changes === 1;
        if (stored) this.#insertBlobUse.run(digest, usedAt);
        return stored;
      })
      .immediate();
    if (inserted) {
      this.#bytesChanged += data.length;
      this.#activity.blobsAdded++;
      this.#activity.chunksWritten++;
    } else {
      this.#activity.chunksDeduplicated++;
    }
    return inserted;
  }

  /**
   * Stores a chunked blob whose chunks an upload holds, listing them, with the seal of that list
   * (see schema.ts, version 5); false (and nothing changed) when the digest was already stored. Run
   * inside a transaction.
   */
  insertChunked(digest: Uint8Array, size: number, seal: Uint8Array, upload: number, usedAt: number): boolean {
    if (this.#insertChunked.run(digest, size, seal).changes !== 1) return false;
    this.#listUploadChunks.run(digest, upload);
    this.#insertBlobUse.run(digest, usedAt);
    // Counted before the caller's transaction commits: a rollback there fails the write anyway.
    this.#activity.blobsAdded++;
    return true;
  }

  /**
   * Pins chunks to a live upload as its chunks `firstSeq`…, in one transaction, before their
   * bytes are written, and declares `pack` (if given) for them to go in: from then on no deletion
   * takes them, and if the writer dies, releasing its upload finds every pack it may have left.
   * Returns, per chunk, where the store already has it (see chunkLocation: its file, null for
   * bytes in the row, undefined when it is not stored yet); undefined (nothing changed) when the
   * upload was abandoned or reclaimed.
   */
  pinChunks(
    upload: number,
    firstSeq: number,
    chunks: readonly { digest: Uint8Array; size: number }[],
    pack?: number,
  ): (ChunkFileLocation | null | undefined)[] | undefined {
    const pin = this.db.transaction(() => {
      const where = chunks.map(({ digest, size }, i) => {
        // The whole batch is rolled back: nothing is added to a reclaimed upload.
        if (this.#pinChunk.run(upload, firstSeq + i, digest, size, upload).changes !== 1) throw new UploadGone();
        return this.#fileOf(digest);
      });
      if (pack !== undefined) this.packs.declare(upload, pack);
      return where;
    });
    try {
      return pin.immediate();
    } catch (error) {
      if (error instanceof UploadGone) return undefined;
      throw error;
    }
  }

  /**
   * Adds the rows of chunks the upload pinned, in one transaction: of bytes the upload appended to
   * one of its packs (`file`), or (given `data`, a small chunk) holding its bytes. Returns, per
   * chunk, undefined when its row went in, else where the chunk the store already had is (another
   * writer stored it meanwhile: the upload's own copy in its pack is then dead bytes, gone with the
   * pack); undefined as a whole (nothing changed) when the upload was abandoned or reclaimed
   * meanwhile.
   */
  insertChunks(
    upload: number,
    chunks: readonly {
      digest: Uint8Array;
      size: number;
      file?: ChunkFileLocation | undefined;
      data?: Uint8Array | undefined;
    }[],
  ): (ChunkFileLocation | null | undefined)[] | undefined {
    const insert = this.db.transaction(() => {
      if (this.#uploadOpen.get(upload) === undefined) throw new UploadGone();
      let added = 0;
      const existing = chunks.map(({ digest, size, file, data }) => {
        const inserted = file
          ? this.#insertChunk.run(digest, size, file.upload, file.pack, file.offset)
          : this.#insertChunkRow.run(digest, data ?? new Uint8Array(0));
        if (inserted.changes === 1) {
          added += size;
          return undefined;
        }
        return this.#fileOf(digest);
      });
      return [added, existing] as const;
    });
    try {
      const [added, existing] = insert.immediate();
      this.#bytesChanged += added;
      return existing;
    } catch (error) {
      if (error instanceof UploadGone) return undefined;
      throw error;
    }
  }

  /** Takes deleted chunk files off the list. */
  forgetFileDeletes(files: readonly (readonly [digest: Uint8Array, upload: number])[]): void {
    this.db
      .transaction(() => {
        for (const [digest, file] of files) this.#forgetFileDelete.run(digest, file);
      })
      .immediate();
  }

  /** Up to `limit` chunk files on the list to delete, as [digest, upload that wrote it]. */
  filesToDelete(limit: number): [digest: Buffer, upload: number][] {
    return this.#filesToDelete.all(limit);
  }

  /** Counts a writer's chunks: `written` stored anew, `deduplicated` already there. */
  countChunks(written: number, deduplicated: number): void {
    this.#activity.chunksWritten += written;
    this.#activity.chunksDeduplicated += deduplicated;
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
   * transaction. Returns how many were released (0: none left) and what to delete once it
   * committed (also recorded for deletion): the files of their own of the rows deleted, and the
   * packs those rows were the last to name, when the upload that wrote them is over (see
   * PackRows). For an upload open when the file was upgraded to packs (see schema.ts, version 6),
   * a chunk whose row does not name a file of this upload's own brings that file too, which the
   * upload may have written before it died or lost a race to another writer (usually there is none).
   */
  releaseChunkBatch(upload: number): {
    released: number;
    files: [digest: Uint8Array, upload: number][];
    packs: PackRef[];
  } {
    const files: [Uint8Array, number][] = [];
    const packs: PackRef[] = [];
    const [released, freed] = this.db
      .transaction(() => {
        files.length = 0; // a retried transaction starts over
        packs.length = 0;
        const batch = this.#uploadChunkBatch.all(upload, DELETE_BATCH);
        const legacy = this.#isLegacyUpload.get(upload) !== undefined;
        let freed = 0;
        const emptied = new Map<string, PackRef>();
        for (const [seq, chunk] of batch) {
          this.#unpinChunk.run(upload, seq);
          const named = this.#fileOf(chunk);
          const deleted = this.#deleteUnusedChunk.get(chunk, chunk, chunk);
          if (deleted) {
            freed += deleted[0];
            const [, file, pack] = deleted;
            if (file !== null && pack === null) files.push([chunk, file]);
            if (file !== null && pack !== null) emptied.set(`${file}.${pack}`, [file, pack]);
          }
          // Unless the row names this upload's own file: an upload of an older castore-sqlite may have written one.
          if (legacy && !(named && named.pack === null && named.upload === upload)) files.push([chunk, upload]);
        }
        for (const [file, pack] of emptied.values()) if (this.packs.markIfUnnamed(file, pack)) packs.push([file, pack]);
        for (const [digest, file] of files) this.#recordFileDelete.run(digest, file);
        return [batch.length, freed] as const;
      })
      .immediate();
    this.#bytesChanged -= freed;
    return { released, files, packs };
  }

  /**
   * Deletes a released upload's row, and marks its packs that no row names for deletion (each row
   * that named one was deleted while the upload was open, or never inserted); returns those packs.
   * One transaction.
   */
  deleteUpload(upload: number): PackRef[] {
    return this.db
      .transaction(() => {
        this.#deleteUpload.run(upload);
        this.#forgetLegacyUpload.run(upload);
        return this.packs.markUnnamedOfUpload(upload);
      })
      .immediate();
  }

  /**
   * Drops an upload's chunk pins without releasing the chunks (a committed blob lists them now)
   * and deletes its row; returns its packs that no row names (every chunk in them was stored by
   * another writer first), marked for deletion. Run inside a transaction.
   */
  finishUpload(upload: number): PackRef[] {
    this.#dropPins.run(upload);
    this.#deleteUpload.run(upload);
    return this.packs.markUnnamedOfUpload(upload);
  }

  /**
   * For a writer whose upload was reclaimed while it wrote: declares again the packs it declared
   * (the process that reclaimed the upload may have ended it, deleting and forgetting a pack this
   * writer had declared but not created yet, which it then created) and marks those no row names
   * for deletion; returns them. One transaction.
   */
  abandonPacks(upload: number, declared: number): PackRef[] {
    return this.db
      .transaction(() => {
        this.packs.declareAll(upload, declared);
        return this.packs.markUnnamedOfUpload(upload);
      })
      .immediate();
  }

  /**
   * For a writer giving its upload up: declares again the packs it declared (see abandonPacks), so
   * that releasing the upload finds them all. One transaction.
   */
  declarePacks(upload: number, declared: number): void {
    if (declared > 0) this.db.transaction(() => this.packs.declareAll(upload, declared)).immediate();
  }

  /** Takes deleted packs off the list. */
  forgetPacks(packs: readonly PackRef[]): void {
    this.db
      .transaction(() => {
        for (const [upload, pack] of packs) this.packs.forget(upload, pack);
      })
      .immediate();
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

  /** What this connection's writes and evictions did since it opened (a copy). */
  get activity(): Readonly<Activity> {
    return { ...this.#activity };
  }

  /** Bytes this connection added minus those it deleted, since it opened (see #bytesChanged). */
  get bytesChanged(): number {
    return this.#bytesChanged;
  }

  /** SQLite's `data_version`: it changes when another connection commits, not when this one does. */
  dataVersion(): number {
    return this.#dataVersion.get() ?? 0;
  }

  /** Records uses of stored blobs (digest → when), in one transaction; blobs no longer stored are skipped. */
  touchBlobs(uses: Iterable<readonly [digest: Uint8Array, usedAt: number]>): void {
    this.db
      .transaction(() => {
        for (const [digest, usedAt] of uses) this.#touchBlob.run(usedAt, digest);
      })
      .immediate();
  }

  /**
   * Up to `limit` stored blobs in order of last use, oldest first, that come after (`usedAt`,
   * `digest`) in that order, leaving out the most recently used blob: [digest, used at].
   */
  leastRecentlyUsed(usedAt: number, digest: Uint8Array, limit: number): [digest: Buffer, usedAt: number][] {
    return this.#leastRecentlyUsed.all(usedAt, usedAt, digest, limit);
  }

  /**
   * Evicts a stored blob, in one transaction: its row and use row go at once (no reader can open
   * it from here on). A one-piece blob's bytes go with its row. A chunked blob's chunk list moves
   * to a new upload, already abandoned, owned by `owner`: releasing it (releaseChunkBatch, a
   * bounded batch at a time) deletes the chunks no other blob or upload uses, and after a crash
   * any process that opens the file finishes that, as for any abandoned upload. Returns that
   * upload (undefined for a one-piece blob, or when the blob was no longer stored).
   */
  evictBlob(digest: Uint8Array, owner: UploadOwner, now: number): number | undefined {
    let evicted = false;
    const [upload, freed] = this.db
      .transaction(() => {
        const blob = this.#blob.get(digest);
        this.#deleteBlobUse.run(digest);
        if (!blob) return [undefined, 0] as const;
        evicted = true;
        if (!blob[1]) return [undefined, this.#deleteInline.get(digest) ?? 0] as const;
        const id = Number(this.#startReleasedUpload.run(owner.host, owner.pid, owner.token, now).lastInsertRowid);
        this.#moveChunkList.run(id, digest);
        this.#deleteChunkList.run(digest);
        this.#deleteInline.get(digest);
        return [id, 0] as const;
      })
      .immediate();
    this.#bytesChanged -= freed;
    if (evicted) {
      this.#activity.evictions++;
      this.#activity.blobsRemoved++;
    }
    return upload;
  }
}
