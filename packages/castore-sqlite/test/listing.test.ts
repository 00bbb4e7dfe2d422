// Listing the stored digests (castore-core's optional BlobLister), page by page.
import { type B3Digest, canListBlobs, putBlob } from "castore-core";
import { pseudoRandomBytes } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { openSqliteBlobService } from "../src/index.js";
import { tempFile } from "./support/temp.js";

describe("listBlobs", () => {
  it("yields every stored digest once, in byte order, across pages; not an unfinished upload's", async () => {
    const service = await openSqliteBlobService({ path: tempFile(), avgChunkSize: 1024 });
    expect(canListBlobs(service)).toBe(true);
    const stored: string[] = [];
    // More than two pages of digests, a few of them chunked blobs.
    for (let i = 0; i < 1100; i++)
      stored.push((await putBlob(service, pseudoRandomBytes(i % 100 === 0 ? 5000 : 8, i))).toHex());
    const unfinished = await service.openWrite();
    await unfinished.write(pseudoRandomBytes(4096, 5000));

    const listed: string[] = [];
    for await (const digest of service.listBlobs()) listed.push(digest.toHex());
    expect(listed).toEqual([...stored].sort());
    await unfinished.abort();
    await service.close();
  });

  it("blobs stored during a walk do not disturb it: those there from the start are listed once", async () => {
    const service = await openSqliteBlobService(tempFile());
    const before = new Set<string>();
    for (let i = 0; i < 1200; i++) before.add((await putBlob(service, pseudoRandomBytes(16, i))).toHex());
    const seen: string[] = [];
    let added = 0;
    for await (const digest of service.listBlobs()) {
      seen.push(digest.toHex());
      // Between pages and within them, another blob lands (sorting anywhere).
      if (seen.length % 100 === 0) {
        await putBlob(service, pseudoRandomBytes(16, 10_000 + added));
        added++;
      }
    }
    expect(new Set(seen).size).toBe(seen.length);
    for (const digest of before) expect(seen).toContain(digest);
    await service.close();
  });

  it("an empty store lists nothing; a closed one fails with Closed", async () => {
    const service = await openSqliteBlobService(tempFile());
    const listed: B3Digest[] = [];
    for await (const digest of service.listBlobs()) listed.push(digest);
    expect(listed).toEqual([]);
    await service.close();
    await expect(service.listBlobs()[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: "Closed" });
  });
});
