import { type BlobService, digestOf, isCastoreError } from "castore-core";
import { check, checkBytes, checkEqual, expectCode, settled, waitsOnTheOutside } from "../assertions.js";
import type { ConformanceCase } from "../capabilities.js";
import { BLOB_B, BLOB_C, HELLOWORLD } from "../fixtures.js";
import { openPresent, piecesOf, put, readBlob } from "../io.js";

/** Cancellation through AbortSignal: refused up front, stopped midway, and nothing half-stored. */
export const abortCases: ConformanceCase[] = [
  {
    id: "abort/already-aborted-signal",
    title: "an already-aborted signal rejects every method with Aborted",
    async run({ service }) {
      const signal = AbortSignal.abort();
      await put(service, HELLOWORLD.data);
      await expectCode(() => service.has(HELLOWORLD.digest, { signal }), "Aborted", "has() with an aborted signal");
      await expectCode(
        () => service.openRead(HELLOWORLD.digest, { signal }),
        "Aborted",
        "openRead() with an aborted signal",
      );
      await expectCode(() => service.openWrite({ signal }), "Aborted", "openWrite() with an aborted signal");

      const reader = await openPresent(service, HELLOWORLD.digest);
      try {
        await expectCode(() => reader.read({ signal }), "Aborted", "reader.read() with an aborted signal");
        await expectCode(() => reader.seek(1, "start", { signal }), "Aborted", "reader.seek() with an aborted signal");
        checkEqual(reader.position, 0, "reader.position after aborted calls");
      } finally {
        await reader.close();
      }

      const writing = await service.openWrite();
      await expectCode(
        () => writing.write(BLOB_B.data, { signal }),
        "Aborted",
        "writer.write() with an aborted signal",
      );
      await expectCode(() => writing.close(), ["Aborted", "Closed"], "close() after an aborted write");
      checkEqual(await service.has(BLOB_B.digest), false, "has(BLOB_B) after an aborted write");

      const closing = await service.openWrite();
      await closing.write(BLOB_B.data);
      await expectCode(() => closing.close({ signal }), "Aborted", "writer.close() with an aborted signal");
      checkEqual(await service.has(BLOB_B.digest), false, "has(BLOB_B) after a close() with an aborted signal");
    },
  },
  {
    id: "abort/mid-write",
    title: "aborting in the middle of a write stops it and stores nothing partial",
    async run({ service }) {
      const controller = new AbortController();
      const pieces = [...piecesOf(BLOB_C.data, [1 << 20])];
      let handedOut = 0;
      // Yields pieces of BLOB_C and fires the abort after the second: the write must stop, whatever
      // the backend has buffered by then.
      async function* source(): AsyncGenerator<Uint8Array> {
        for (const piece of pieces) {
          if (handedOut === 2) controller.abort(new Error("stop the upload"));
          handedOut++;
          yield piece;
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      }
      const writer = await service.openWrite();
      await expectCode(
        () => writer.write(source(), { signal: controller.signal }),
        "Aborted",
        "write() aborted midway",
      );
      check(handedOut < pieces.length, "the write consumed the whole source although it was aborted midway");
      await expectCode(() => writer.close(), ["Aborted", "Closed"], "close() after a write aborted midway");
      await expectNoPrefixStored(service, BLOB_C.data, pieces.length, "after a write aborted midway");
    },
  },
  {
    id: "abort/endless-write",
    title: "aborting a write from an endless source ends the write",
    async run({ service }) {
      const controller = new AbortController();
      let produced = 0;
      // An endless, slow source: a backend that ignores the signal never finishes this write.
      async function* endless(): AsyncGenerator<Uint8Array> {
        for (;;) {
          produced++;
          if (produced === 5) setTimeout(() => controller.abort(), 5);
          yield HELLOWORLD.data;
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      }
      const writer = await service.openWrite();
      await expectCode(
        () => writer.write(endless(), { signal: controller.signal }),
        "Aborted",
        "write() of an endless source, aborted",
      );
      await expectCode(() => writer.close(), ["Aborted", "Closed"], "close() after the aborted endless write");
    },
  },
  {
    id: "abort/stalled-write",
    title: "aborting a write whose source has stalled ends the write",
    async run({ service }) {
      const controller = new AbortController();
      // A source that sends one piece and then never again, like a network upload that hangs.
      async function* stalled(): AsyncGenerator<Uint8Array> {
        yield HELLOWORLD.data;
        setTimeout(() => controller.abort(), 5);
        await new Promise(() => {});
      }
      const writer = await service.openWrite();
      await expectCode(
        () => writer.write(stalled(), { signal: controller.signal }),
        "Aborted",
        "write() of a stalled source, aborted",
      );
      await expectCode(() => writer.close(), ["Aborted", "Closed"], "close() after the aborted stalled write");
      checkEqual(await service.has(HELLOWORLD.digest), false, "has(HELLOWORLD) after the aborted stalled write");
    },
  },
  {
    id: "abort/mid-read",
    title: "aborting in the middle of a read stops it; bytes read before are right",
    async run({ service }) {
      await put(service, BLOB_C.data);
      const reader = await openPresent(service, BLOB_C.digest);
      const controller = new AbortController();
      const { signal } = controller;
      try {
        const first = await reader.read({ maxBytes: 65_536, signal });
        check(first !== undefined, "the first read of BLOB_C returned undefined");
        checkBytes(first, BLOB_C.data.subarray(0, first.length), "bytes read before the abort");
        // A read still waiting on I/O when the signal fires must fail with Aborted; one that needed
        // no I/O has finished by then and must have the right bytes (see waitsOnTheOutside).
        const at = reader.position;
        const reading = reader.read({ maxBytes: 65_536, signal });
        const waiting = await waitsOnTheOutside(reading);
        controller.abort();
        const outcome = await settled(reading, "a read in flight during the abort");
        if ("error" in outcome) {
          check(
            isCastoreError(outcome.error, "Aborted"),
            `a read in flight during the abort failed with ${String(outcome.error)}`,
          );
        } else {
          check(
            !waiting,
            "a read waiting on I/O when its signal fired returned bytes: the reader ignores cancellation (race the I/O against the signal, see raceAbort in castore-core/backend)",
          );
          const chunk = outcome.value;
          check(chunk !== undefined, "a read in flight during the abort reported the end of BLOB_C");
          checkBytes(chunk, BLOB_C.data.subarray(at, at + chunk.length), "a read in flight during the abort");
        }
        await expectCode(() => reader.read({ signal }), "Aborted", "read() after the abort");
      } finally {
        await reader.close();
      }
      // The blob itself is untouched.
      checkBytes(await readBlob(service, BLOB_C.digest), BLOB_C.data, "BLOB_C read back after the aborted read");
    },
  },
];

/** Checks that neither `data` nor any prefix of it at a piece boundary became a blob. */
async function expectNoPrefixStored(
  service: BlobService,
  data: Uint8Array,
  pieces: number,
  when: string,
): Promise<void> {
  const step = Math.ceil(data.length / pieces);
  for (let end = step; end < data.length + step; end += step) {
    const prefix = data.subarray(0, Math.min(end, data.length));
    checkEqual(await service.has(await digestOf(prefix)), false, `has(first ${prefix.length} bytes) ${when}`);
  }
}
