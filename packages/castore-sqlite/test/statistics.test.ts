// statistics(): what the daemon's metrics show of a SQLite store. Sizes equal a scan of the tables
// (also after another connection wrote); counters say what this process's writes and evictions did.
import { canReportStatistics, putBlob, statisticsOf } from "castore-core";
import { pseudoRandomBytes } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { openSqliteBlobService } from "../src/index.js";
import { settleEviction } from "../src/testing.js";
import { tempFile } from "./support/temp.js";

const KiB = 1024;
const MiB = 1024 * KiB;

describe("statistics", () => {
  it("counts blobs, bytes, chunks written and deduplicated, and sees another connection's writes", async () => {
    const path = tempFile();
    const service = await openSqliteBlobService({ path, synchronous: "normal" });
    expect(canReportStatistics(service)).toBe(true);
    expect(statisticsOf(service)).toEqual({
      blobs: 0,
      storedBytes: 0,
      chunksWritten: 0,
      chunksDeduplicated: 0,
      evictions: 0,
    });
    const big = pseudoRandomBytes(2 * MiB, 1701);
    const bigDigest = await putBlob(service, big);
    const chunkCount = (await service.chunks(bigDigest))?.length ?? 0;
    expect(chunkCount).toBeGreaterThan(1);
    await putBlob(service, big); // every chunk already stored
    await putBlob(service, pseudoRandomBytes(1000, 1702)); // one piece
    expect(statisticsOf(service)).toEqual({
      blobs: 2,
      storedBytes: big.length + 1000,
      chunksWritten: chunkCount + 1,
      chunksDeduplicated: chunkCount,
      evictions: 0,
    });

    // Another connection (another process, as far as SQLite can tell) writes: sizes follow, counters
    // stay this connection's own.
    const other = await openSqliteBlobService({ path, synchronous: "normal" });
    await putBlob(other, pseudoRandomBytes(3000, 1703));
    await other.close();
    expect(statisticsOf(service)).toMatchObject({
      blobs: 3,
      storedBytes: big.length + 4000,
      chunksWritten: chunkCount + 1,
    });
    expect(await service.storedBytes()).toBe(big.length + 4000);

    await service.close();
    expect(statisticsOf(service)).toEqual({});
  });

  it("counts evictions, and its sizes stay those of the tables as blobs go", async () => {
    const service = await openSqliteBlobService({ path: tempFile(), maxSize: 2 * MiB, avgChunkSize: 64 * KiB });
    for (let seed = 1; seed <= 8; seed++) await putBlob(service, pseudoRandomBytes(MiB, 1710 + seed));
    await settleEviction(service);
    const statistics = statisticsOf(service);
    expect(statistics?.evictions).toBeGreaterThan(0);
    expect(statistics?.storedBytes).toBe(await service.storedBytes());
    expect(statistics?.storedBytes).toBeLessThanOrEqual(2 * MiB);
    expect(statistics?.blobs).toBe(8 - (statistics?.evictions ?? 0));
    await service.close();
  });
});
