import type { BytesInput } from "castore-core";
import { checkBytes, checkDigest, checkEqual, expectCode } from "../assertions.js";
import type { ConformanceCase } from "../capabilities.js";
import { BLOB_A, BLOB_B, BLOB_C, HELLOWORLD } from "../fixtures.js";
import { piecesOf, readBlob } from "../io.js";

/** The writer state machine of the Rust original (docs/design.md §3). */
export const writerCases: ConformanceCase[] = [
  {
    id: "writer/close-twice",
    title: "closing a writer twice returns the same digest",
    async run({ service }) {
      const writer = await service.openWrite();
      await writer.write(BLOB_A.data);
      checkDigest(await writer.close(), BLOB_A.digest, "first close()");
      checkDigest(await writer.close(), BLOB_A.digest, "second close()");
      const [third, fourth] = await Promise.all([writer.close(), writer.close()]);
      checkDigest(third, BLOB_A.digest, "third close(), concurrent with a fourth");
      checkDigest(fourth, BLOB_A.digest, "fourth close(), concurrent with the third");
      checkBytes(await readBlob(service, BLOB_A.digest), BLOB_A.data, "BLOB_A read back");
    },
  },
  {
    id: "writer/write-after-close",
    title: "write after close fails with Closed and leaves the stored blob alone",
    async run({ service }) {
      const writer = await service.openWrite();
      await writer.write(HELLOWORLD.data);
      checkDigest(await writer.close(), HELLOWORLD.digest, "close()");
      await expectCode(() => writer.write(BLOB_A.data), "Closed", "write() after close()");
      checkEqual(writer.bytesWritten, HELLOWORLD.data.length, "bytesWritten after a refused write");
      // abort() after a successful close is a no-op: the blob stays.
      await writer.abort();
      checkDigest(await writer.close(), HELLOWORLD.digest, "close() again after the refused write and abort()");
      checkBytes(await readBlob(service, HELLOWORLD.digest), HELLOWORLD.data, "HELLOWORLD read back");
    },
  },
  {
    id: "writer/abort",
    title: "an aborted writer stores nothing and refuses further use",
    async run({ service }) {
      const writer = await service.openWrite();
      await writer.write(BLOB_B.data);
      await writer.abort();
      await writer.abort();
      checkEqual(await service.has(BLOB_B.digest), false, "has(BLOB_B) after abort()");
      checkEqual(await service.openRead(BLOB_B.digest), undefined, "openRead(BLOB_B) after abort()");
      await expectCode(() => writer.write(BLOB_A.data), ["Aborted", "Closed"], "write() after abort()");
      await expectCode(() => writer.close(), ["Aborted", "Closed"], "close() after abort()");
      checkEqual(await service.has(BLOB_B.digest), false, "has(BLOB_B) after close() of an aborted writer");
      checkEqual(await service.has(BLOB_A.digest), false, "has(BLOB_A) after write()+close() of an aborted writer");
    },
  },
  {
    id: "writer/abort-keeps-existing-blob",
    title: "aborting or failing a writer of bytes that are already stored leaves the stored blob alone",
    async run({ service }) {
      // Catches backends that clean up by digest and so delete a blob someone else stored.
      const stored = await service.openWrite();
      await stored.write(BLOB_B.data);
      checkDigest(await stored.close(), BLOB_B.digest, "close() of the first writer");
      const aborted = await service.openWrite();
      await aborted.write(BLOB_B.data);
      await aborted.abort();
      checkEqual(await service.has(BLOB_B.digest), true, "has(BLOB_B) after another writer of it aborted");
      const failed = await service.openWrite();
      await failed.write(BLOB_B.data);
      await expectCode(
        () => failed.close({ signal: AbortSignal.abort() }),
        "Aborted",
        "close() with an aborted signal",
      );
      checkEqual(await service.has(BLOB_B.digest), true, "has(BLOB_B) after another writer of it failed to close");
      // Both orders of a race: one writer aborts before, one after, the writer that stores the blob closes.
      const early = await service.openWrite();
      const winner = await service.openWrite();
      const late = await service.openWrite();
      for (const writer of [early, winner, late]) await writer.write(HELLOWORLD.data);
      await early.abort();
      checkDigest(await winner.close(), HELLOWORLD.digest, "close() of the writer between two aborted ones");
      await late.abort();
      checkBytes(await readBlob(service, BLOB_B.digest), BLOB_B.data, "BLOB_B read back");
      checkBytes(await readBlob(service, HELLOWORLD.digest), HELLOWORLD.data, "HELLOWORLD read back");
    },
  },
  {
    id: "writer/dispose-without-close",
    title: "a writer disposed without close stores nothing",
    async run({ service }) {
      const writer = await service.openWrite();
      await writer.write(BLOB_B.data);
      await writer[Symbol.asyncDispose]();
      checkEqual(await service.has(BLOB_B.digest), false, "has(BLOB_B) after disposing the unclosed writer");
      await expectCode(() => writer.close(), ["Aborted", "Closed"], "close() after dispose");
      checkEqual(await service.has(BLOB_B.digest), false, "has(BLOB_B) after close() of a disposed writer");
    },
  },
  {
    id: "writer/dispose-after-close",
    title: "disposing a closed writer keeps its blob",
    async run({ service }) {
      const writer = await service.openWrite();
      await writer.write(HELLOWORLD.data);
      checkDigest(await writer.close(), HELLOWORLD.digest, "close()");
      await writer[Symbol.asyncDispose]();
      checkBytes(await readBlob(service, HELLOWORLD.digest), HELLOWORLD.data, "HELLOWORLD read back after dispose");
    },
  },
  {
    id: "writer/invisible-until-closed",
    title: "a blob is invisible until its writer closes",
    async run({ service }) {
      const writer = await service.openWrite();
      await writer.write(BLOB_B.data);
      checkEqual(writer.bytesWritten, BLOB_B.data.length, "bytesWritten after writing BLOB_B");
      checkEqual(await service.has(BLOB_B.digest), false, "has(BLOB_B) while its writer is still open");
      checkEqual(await service.openRead(BLOB_B.digest), undefined, "openRead(BLOB_B) while its writer is open");
      checkDigest(await writer.close(), BLOB_B.digest, "close()");
      checkEqual(await service.has(BLOB_B.digest), true, "has(BLOB_B) after close()");
    },
  },
  {
    id: "writer/interleaved-writers",
    title: "two writers written in turns and closed in reverse order store both blobs",
    async run({ service }) {
      const first = await service.openWrite();
      const second = await service.openWrite();
      const firstPieces = [...piecesOf(BLOB_B.data, [65_536])];
      const secondPieces = [...piecesOf(BLOB_C.data, [333_333])];
      for (let i = 0; i < Math.max(firstPieces.length, secondPieces.length); i++) {
        const a = firstPieces[i];
        const b = secondPieces[i];
        if (a) await first.write(a);
        if (b) await second.write(b);
      }
      checkDigest(await second.close(), BLOB_C.digest, "close() of the writer that got BLOB_C");
      checkEqual(await service.has(BLOB_B.digest), false, "has(BLOB_B) before its writer closes");
      checkDigest(await first.close(), BLOB_B.digest, "close() of the writer that got BLOB_B");
      checkBytes(await readBlob(service, BLOB_B.digest), BLOB_B.data, "BLOB_B read back");
      checkBytes(await readBlob(service, BLOB_C.digest), BLOB_C.data, "BLOB_C read back");
    },
  },
  {
    id: "writer/unawaited-writes-keep-order",
    title: "writes issued without waiting, then close, keep their order",
    async run({ service }) {
      const writer = await service.openWrite();
      const pending = [...piecesOf(BLOB_B.data, [100_000, 1, 77_777])].map((piece) => writer.write(piece));
      const digest = await writer.close();
      await Promise.all(pending);
      checkDigest(digest, BLOB_B.digest, "close() issued right after unawaited writes");
      checkBytes(await readBlob(service, BLOB_B.digest), BLOB_B.data, "BLOB_B read back");
    },
  },
  {
    id: "writer/failed-close-stays-failed",
    title: "after a close that failed, close fails again instead of pretending success",
    async run({ service }) {
      const writer = await service.openWrite();
      await writer.write(HELLOWORLD.data);
      await expectCode(
        () => writer.close({ signal: AbortSignal.abort() }),
        "Aborted",
        "close() with an aborted signal",
      );
      await expectCode(() => writer.close(), ["Closed", "Aborted"], "close() after a failed close()");
      checkEqual(await service.has(HELLOWORLD.digest), false, "has(HELLOWORLD) after the failed close()");
    },
  },
  {
    id: "writer/invalid-input",
    title: "writing something that is not bytes fails with InvalidArgument and stores nothing",
    async run({ service }) {
      const bad: [string, unknown][] = [
        ["a string", "Hello World!"],
        ["an array of numbers", [72, 101]],
        ["null", null],
        ["an iterable holding a string", [HELLOWORLD.data, "!"]],
      ];
      for (const [what, input] of bad) {
        const writer = await service.openWrite();
        await expectCode(() => writer.write(input as BytesInput), "InvalidArgument", `write(${what})`);
        await writer.abort();
      }
      checkEqual(await service.has(HELLOWORLD.digest), false, "has(HELLOWORLD) after refused writes");
    },
  },
];
