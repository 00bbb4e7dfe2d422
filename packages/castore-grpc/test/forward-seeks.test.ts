// The forward part of the conformance case left out in conformance.test.ts: forward seeks and
// small reads around the sizes storage and messages are cut at (the case ends with a backward seek,
// which a gRPC stream cannot do).
import { type BlobReader, putBlob } from "castore-core";
import { BLOB_C, checkBytes, readExact, readToEnd } from "castore-fixtures";
import { expect, it } from "vitest";
import { served } from "./support/served.js";

it.each(["unix", "tcp"] as const)(
  "over %s, forward seeks land on the right bytes around boundaries",
  async (transport) => {
    const castore = await served(transport, { server: { readChunkBytes: 65_536 } });
    await putBlob(castore, BLOB_C.data);
    const targets = new Set<number>();
    for (const boundary of [1 << 14, 1 << 16, 1 << 18, 1 << 20, 2 << 20, 4 << 20, 5 << 20]) {
      for (const delta of [-3, -1, 0, 1]) targets.add(boundary + delta);
    }
    const reader = (await castore.openRead(BLOB_C.digest)) as BlobReader;
    let position = 0;
    for (const target of [...targets].sort((a, b) => a - b)) {
      if (target < position) continue;
      expect(await reader.seek(target - position, "current")).toBe(target);
      checkBytes(await readExact(reader, 2), BLOB_C.data.subarray(target, target + 2), `2 bytes at ${target}`);
      position = target + 2;
    }
    checkBytes(await readToEnd(reader), BLOB_C.data.subarray(position), "the rest");
    await expect(reader.seek(0, "start")).rejects.toMatchObject({ code: "Unsupported" });
    await reader.close();
    await castore.close();
  },
);
