// A process killed with SIGKILL while its bounded store is evicting leaves a consistent file: no
// blob whose chunks are gone, no use row without its blob, and every stored blob reads back right;
// the next open finishes the deletions the dead process had begun.
import { fileURLToPath } from "node:url";
import { B3Digest } from "castore-core";
import { readBlob } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { openSqliteBlobService } from "../src/index.js";
import { settleEviction } from "../src/testing.js";
import { blobData } from "./children/blob-plan.mjs";
import { expectBytes } from "./support/bytes.js";
import { startChildScript } from "./support/child.js";
import { CONSISTENT, countRows, storedDigests } from "./support/inspect.js";
import { tempFile } from "./support/temp.js";

const script = fileURLToPath(new URL("./children/evict-churn.mjs", import.meta.url));
const MAX_SIZE = 128 * 1024;
// Small chunks: an evicted blob's chunks are released over several transactions.
const AVG_CHUNK_SIZE = 1024;

describe("crash safety of eviction", () => {
  it("SIGKILL while evicting, again and again: the file stays consistent and every stored blob verifies", async () => {
    const file = tempFile();
    const written = new Map<string, Uint8Array>();
    for (const seed of [1, 2, 3, 4]) {
      const child = startChildScript(script, [file, String(seed), String(MAX_SIZE), String(AVG_CHUNK_SIZE)]);
      // Far more than the bound has been written by then: the store evicts on nearly every write.
      await child.waitForDone(30 + 7 * seed);
      await child.kill();
      for (const [i, hex] of child.done) written.set(hex, blobData(seed, i));
      // As the dead process left it, before anyone cleans up: nothing dangles.
      expect(countRows(file)).toMatchObject({ missingChunks: 0, unmatchedUses: 0, missingFiles: 0 });
    }
    // Eviction did run: most of what was written is gone.
    expect(storedDigests(file).length).toBeLessThan(written.size / 2);
    const service = await openSqliteBlobService({ path: file, maxSize: MAX_SIZE, avgChunkSize: AVG_CHUNK_SIZE });
    await settleEviction(service);
    // The deletions the dead processes began are finished; nothing leaks.
    expect(countRows(file)).toMatchObject(CONSISTENT);
    for (const hex of storedDigests(file)) {
      const data = written.get(hex);
      // A blob the child was writing when killed may be stored without its DONE line: it still verifies.
      const bytes = await readBlob(service, B3Digest.from(hex));
      if (data) expectBytes(bytes, data, hex);
    }
    expect(await service.storedBytes()).toBeLessThanOrEqual(MAX_SIZE);
    await service.close();
  });
});
