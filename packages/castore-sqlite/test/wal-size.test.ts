// How far the write-ahead log grows: a writing connection checkpoints every WAL_CHECKPOINT_PAGES
// pages (fewer syncs of the database file), and cuts the log file back to WAL_KEPT_BYTES once a
// checkpoint lets it start over. One-piece blobs fill it: their bytes are rows (a chunked blob's
// bytes go to chunk files, not through the log).
import { statSync } from "node:fs";
import type { BlobService } from "castore-core";
import { pseudoRandomBytes } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { openSqliteBlobService } from "../src/index.js";
import { PAGE_SIZE, WAL_CHECKPOINT_PAGES, WAL_KEPT_BYTES } from "../src/schema.js";
import { tempFile } from "./support/temp.js";

/** A one-piece blob (under the smallest chunk: its bytes are its row), distinct per seed. */
const BLOB_BYTES = 100_000;

async function putOnePiece(service: BlobService, seed: number): Promise<void> {
  const writer = await service.openWrite();
  await writer.write(pseudoRandomBytes(BLOB_BYTES, seed));
  await writer.close();
}

const walSize = (file: string) => statSync(`${file}-wal`).size;

describe("the write-ahead log", () => {
  it("grows past SQLite's default checkpoint point, and is cut back once a checkpoint resets it", async () => {
    const checkpointBytes = WAL_CHECKPOINT_PAGES * PAGE_SIZE;
    const file = tempFile();
    const service = await openSqliteBlobService(file);
    try {
      // Blob after blob until the log file shrinks: a checkpoint let it start over and cut it back.
      // Each commit also logs the index pages it touched, so the log fills faster than the blobs.
      let largest = 0;
      let afterShrink: number | undefined;
      for (let seed = 1; afterShrink === undefined && seed <= (2 * checkpointBytes) / BLOB_BYTES; seed++) {
        await putOnePiece(service, seed);
        const size = walSize(file);
        if (size < largest) afterShrink = size;
        largest = Math.max(largest, size);
      }
      // SQLite's default (1000 pages) would have started over at a quarter of our point.
      expect(largest).toBeGreaterThan(2 * 1000 * PAGE_SIZE);
      expect(afterShrink).toBeDefined();
      expect(afterShrink).toBeLessThanOrEqual(WAL_KEPT_BYTES);
    } finally {
      await service.close();
    }
  });
});
