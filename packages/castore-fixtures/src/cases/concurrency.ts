import { digestOf } from "castore-core";
import { checkBytes, checkDigest } from "../assertions.js";
import type { ConformanceCase } from "../capabilities.js";
import { BLOB_B, BLOB_C } from "../fixtures.js";
import { openPresent, piecesOf, put, readBlob, readExact, readToEnd } from "../io.js";

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Many writers at once, some of them racing to store the same bytes. */
export const concurrencyCases: ConformanceCase[] = [
  {
    id: "concurrency/hundred-writers",
    title: "100 concurrent writers (half with the same content) all succeed and all blobs read back",
    async run({ service }) {
      // 50 copies of one shared blob and 50 distinct blobs (slices of BLOB_C of different lengths).
      const shared = BLOB_C.data.subarray(0, 100_000);
      const contents = Array.from({ length: 100 }, (_, i) =>
        i % 2 === 0 ? shared : BLOB_C.data.subarray(i * 1_000, i * 1_000 + 1 + i * 997),
      );
      const expected = await Promise.all(contents.map((content) => digestOf(content)));
      const writers = await Promise.all(contents.map(() => service.openWrite()));
      // Every writer writes its content in three pieces; all writers advance together.
      const digests = await Promise.all(
        writers.map(async (writer, i) => {
          const content = contents[i] as Uint8Array;
          for (const piece of piecesOf(content, [Math.ceil(content.length / 3)])) {
            await writer.write(piece);
            await tick();
          }
          return writer.close();
        }),
      );
      for (const [i, digest] of digests.entries()) checkDigest(digest, expected[i]!, `digest returned to writer ${i}`);
      await Promise.all(
        contents.map(async (content, i) => {
          checkBytes(await readBlob(service, expected[i]!), content, `blob of writer ${i} read back`);
        }),
      );
    },
  },
  {
    id: "concurrency/restore-while-reading",
    title: "storing a blob again while it is being read leaves the reader intact",
    async run({ service }) {
      await put(service, BLOB_C.data);
      const reader = await openPresent(service, BLOB_C.digest);
      try {
        const head = await readExact(reader, 1_000_000);
        checkDigest(await put(service, BLOB_C.data), BLOB_C.digest, "storing BLOB_C again during a read");
        const tail = await readToEnd(reader);
        checkBytes(head, BLOB_C.data.subarray(0, head.length), "bytes read before BLOB_C was stored again");
        checkBytes(tail, BLOB_C.data.subarray(head.length), "bytes read after BLOB_C was stored again");
      } finally {
        await reader.close();
      }
    },
  },
  {
    id: "concurrency/same-blob-racing",
    title: "writers racing to store the same large blob all get its digest, and it reads back whole",
    async run({ service }) {
      const digests = await Promise.all(
        Array.from({ length: 4 }, async (_, i) => {
          const writer = await service.openWrite();
          for (const piece of piecesOf(BLOB_B.data, [50_000 + i * 10_007])) {
            await writer.write(piece);
            await tick();
          }
          return writer.close();
        }),
      );
      for (const [i, digest] of digests.entries()) checkDigest(digest, BLOB_B.digest, `writer ${i}`);
      checkBytes(await readBlob(service, BLOB_B.digest), BLOB_B.data, "BLOB_B read back");
    },
  },
];
