// Two processes use one store file at once: no busy errors, each sees the other's blobs.
import { B3Digest, digestOf } from "castore-core";
import { describe, expect, it } from "vitest";
import { openSqliteBlobService } from "../src/index.js";
import { blobData, CHUNK_SIZE } from "./children/blob-plan.mjs";
import { expectBytes } from "./support/bytes.js";
import { startStreamingChild } from "./support/child.js";
import { countRows } from "./support/inspect.js";
import { tempFile } from "./support/temp.js";

const CHILD_BLOBS = 60;

describe("two processes on one file", () => {
  it("one process writes while this one reads its blobs as they appear, and writes its own", async () => {
    const file = tempFile();
    // Create the file first, so both processes open an existing store.
    const service = await openSqliteBlobService({ path: file, avgChunkSize: CHUNK_SIZE });
    const child = startStreamingChild(file, 6, CHILD_BLOBS);

    const readBack = new Set<number>();
    const ours: B3Digest[] = [];
    let i = 0;
    await child.waitForDone(1); // the child is up and writing
    while (readBack.size < CHILD_BLOBS) {
      // Read every blob the child has finished so far...
      for (const [index, hex] of child.done) {
        if (readBack.has(index)) continue;
        const reader = await service.openRead(B3Digest.parse(hex));
        expect(reader, `child blob ${index}`).toBeDefined();
        const chunks: Uint8Array[] = [];
        for await (const chunk of reader ?? []) chunks.push(chunk);
        expectBytes(Buffer.concat(chunks), blobData(6, index), `child blob ${index}`);
        readBack.add(index);
      }
      // ...and write one of ours in between, racing the child's writes.
      if (i < 200) {
        const writer = await service.openWrite();
        const data = blobData(7, i++);
        for (let offset = 0; offset < data.length; offset += 5000)
          await writer.write(data.subarray(offset, offset + 5000));
        ours.push(await writer.close());
      } else if (readBack.size < CHILD_BLOBS) {
        await child.waitForDone(readBack.size + 1);
      }
    }
    await child.waitFor("END");
    expect(await child.exited(), child.stderr()).toBe(0);
    expect(child.stderr()).toBe("");
    // Our writes ran while the child was writing: the loop writes only until it has read all of its blobs.
    expect(ours.length).toBeGreaterThan(10);

    for (const [index, digest] of ours.entries()) {
      expect(digest.equals(await digestOf(blobData(7, index)))).toBe(true);
      expect(await service.has(digest)).toBe(true);
    }
    expect(countRows(file)).toMatchObject({ uploads: 0, orphanChunks: 0 });
    await service.close();
  });
});
