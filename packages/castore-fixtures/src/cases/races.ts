import { type BlobReader, type BlobService, digestOf, isCastoreError } from "castore-core";
import {
  ConformanceFailure,
  check,
  checkBytes,
  checkEqual,
  expectCode,
  rejectsWith,
  resolves,
  settled,
  waitsOnTheOutside,
} from "../assertions.js";
import type { ConformanceCase } from "../capabilities.js";
import { BLOB_C, type Fixture, HELLOWORLD } from "../fixtures.js";
import { openPresent, put, readBlob, readToEnd } from "../io.js";

/**
 * Calls that overlap each other or race a close. Each case is about ordering and hangs, not
 * volume, so it uses a small blob: 20 011 bytes of BLOB_C, which crosses chunk boundaries of
 * backends that store small chunks and is pseudo-random, so a byte repeated or skipped shows.
 */
const SMALL_DATA = BLOB_C.data.subarray(0, 20_011);
let small: Promise<Fixture> | undefined;
function smallBlob(): Promise<Fixture> {
  small ??= digestOf(SMALL_DATA).then((digest) => ({ name: "BLOB_C[0:20011]", data: SMALL_DATA, digest }));
  return small;
}

function checkCancelled(error: unknown, when: string): void {
  check(
    isCastoreError(error, "Aborted") || isCastoreError(error, "Closed"),
    `${when} failed with ${String(error)}, not Aborted or Closed`,
  );
}

function checkFirstBytes(chunk: Uint8Array | undefined, data: Uint8Array, when: string): void {
  check(chunk !== undefined, `${when} reported the end of a ${data.length}-byte blob`);
  checkBytes(chunk, data.subarray(0, chunk.length), `${when}: its bytes`);
}

/**
 * A source that hands out `first`, then stalls forever, like an upload whose network hangs. It takes
 * no signal: only the writer can stop a write waiting on it. `stalled` resolves once the write has
 * asked for the piece that never comes.
 */
function stallingSource(first: Uint8Array): { source: AsyncIterable<Uint8Array>; stalled: Promise<void> } {
  let markStalled!: () => void;
  const stalled = new Promise<void>((resolve) => {
    markStalled = resolve;
  });
  async function* source(): AsyncGenerator<Uint8Array> {
    yield first;
    markStalled();
    await new Promise(() => {});
  }
  return { source: source(), stalled };
}

/** Opens a writer and starts a write (no signal) that waits on a stalled source. */
async function startStalledWrite(service: BlobService) {
  const writer = await service.openWrite();
  const { source, stalled } = stallingSource(HELLOWORLD.data);
  const writing = writer.write(source);
  writing.catch(() => {}); // inspected later; a hung case must not report it as unhandled
  await stalled;
  return { writer, writing };
}

/** Checks that `chunks`, in order, are `data` from `offset` on: contiguous, each byte once. */
function checkContiguous(chunks: readonly Uint8Array[], data: Uint8Array, offset: number, what: string): number {
  let at = offset;
  for (const [i, chunk] of chunks.entries()) {
    check(chunk.length > 0, `${what}: call ${i} returned an empty chunk`);
    checkBytes(chunk, data.subarray(at, at + chunk.length), `${what}: call ${i} (expected the bytes at ${at})`);
    at += chunk.length;
  }
  return at;
}

export const raceCases: ConformanceCase[] = [
  {
    id: "reader/overlapping-calls",
    title: "reads and seeks issued without waiting run in call order and hand out each byte once",
    async run({ service }) {
      const blob = await smallBlob();
      await put(service, blob.data);
      const reader = await openPresent(service, blob.digest);
      try {
        const [first, second, seeked, third, fourth] = await Promise.all([
          reader.read({ maxBytes: 700 }),
          reader.read({ maxBytes: 700 }),
          reader.seek(1_000, "current"),
          reader.read({ maxBytes: 500 }),
          reader.read({ maxBytes: 1 }),
        ]);
        check(first !== undefined && second !== undefined, "overlapping reads at the start reported the end");
        const afterReads = checkContiguous([first, second], blob.data, 0, "overlapping reads before the seek");
        checkEqual(seeked, afterReads + 1_000, 'overlapping seek(1000, "current") after the two reads');
        check(third !== undefined && fourth !== undefined, "overlapping reads after the seek reported the end");
        let at = checkContiguous([third, fourth], blob.data, seeked, "overlapping reads after the seek");
        // The rest through many overlapping reads: bytes in call order, undefined only once all are out.
        const rest = await Promise.all(Array.from({ length: 24 }, () => reader.read({ maxBytes: 1_000 })));
        const endedAt = rest.indexOf(undefined);
        const chunks = (endedAt === -1 ? rest : rest.slice(0, endedAt)) as Uint8Array[];
        at = checkContiguous(chunks, blob.data, at, "overlapping reads to the end");
        if (endedAt !== -1) {
          checkEqual(at, blob.data.length, "bytes handed out when an overlapping read reported the end");
          check(
            rest.slice(endedAt).every((chunk) => chunk === undefined),
            "an overlapping read after the end returned bytes",
          );
        } else {
          // Short reads are allowed: whatever is left must still follow on.
          checkBytes(await readToEnd(reader), blob.data.subarray(at), "the bytes after the overlapping reads");
        }
        checkEqual(await reader.read(), undefined, "read() after the whole blob");
      } finally {
        await reader.close();
      }
    },
  },
  {
    id: "reader/close-during-read",
    title:
      "a read cancelled in flight ends with Aborted or Closed, never with bytes, and closing its reader settles promptly",
    async run({ service }) {
      const blob = await smallBlob();
      await put(service, blob.data);

      // Cancelled at once, then closed once the read settled: it may have finished before the
      // signal fired (a read from memory can), so bytes are allowed here, as long as they are right.
      {
        const when = "a read cancelled at once";
        const reader = await openPresent(service, blob.digest);
        const controller = new AbortController();
        const reading = reader.read({ maxBytes: 1_000, signal: controller.signal });
        controller.abort();
        const outcome = await settled(reading, when);
        if ("error" in outcome) checkCancelled(outcome.error, when);
        else checkFirstBytes(outcome.value, blob.data, when);
        await resolves(reader.close(), `reader.close() after ${when}`);
        await expectCode(() => reader.read(), "Closed", `read() after closing the reader (${when})`);
      }

      // In flight by construction: the read is still pending after every step it could take
      // without I/O, so it is waiting on the outside. Cancelled and closed then, it must end with
      // Aborted or Closed: bytes would mean the reader ignored both. (A read that needs no I/O has
      // finished by then and is checked like the one above.)
      {
        const when = "a read cancelled while in flight";
        const reader = await openPresent(service, blob.digest);
        const controller = new AbortController();
        const reading = reader.read({ maxBytes: 1_000, signal: controller.signal });
        const inFlight = await waitsOnTheOutside(reading);
        controller.abort();
        const closing = reader.close();
        const outcome = await settled(reading, when);
        if ("error" in outcome) checkCancelled(outcome.error, when);
        else if (inFlight) {
          throw new ConformanceFailure(
            `${when} returned ${outcome.value?.length ?? "no"} bytes after its signal fired and its reader was closed: the reader ignores cancellation (race the I/O against the signal, see raceAbort in castore-core/backend)`,
          );
        } else checkFirstBytes(outcome.value, blob.data, when);
        await resolves(closing, `reader.close() during ${when}`);
        await expectCode(() => reader.read(), "Closed", `read() after closing the reader (${when})`);
      }
      checkBytes(await readBlob(service, blob.digest), blob.data, "the blob read back after the closed readers");
    },
  },
  {
    id: "abort/abort-stalled-write-without-signal",
    title: "writer.abort() ends a write (given no signal) that waits on a stalled source, storing nothing",
    async run({ service }) {
      const { writer, writing } = await startStalledWrite(service);
      await resolves(writer.abort(), "writer.abort() while write() waits on a stalled source");
      await rejectsWith(writing, "Aborted", "the stalled write() after abort()");
      await expectCode(() => writer.close(), ["Aborted", "Closed"], "close() after the aborted stalled write");
      checkEqual(await service.has(HELLOWORLD.digest), false, "has(HELLOWORLD) after the aborted stalled write");
    },
  },
  {
    id: "lifecycle/close-during-stalled-write",
    title: "closing the service while a write waits on a stalled source settles promptly; the writer cannot commit",
    async run({ service }) {
      const { writer, writing } = await startStalledWrite(service);
      await resolves(service.close(), "service.close() while a write waits on a stalled source");
      await rejectsWith(writing, ["Aborted", "Closed"], "the stalled write() after service.close()");
      // Nothing can be stored any more: the writer refuses to commit what it had.
      await expectCode(() => writer.close(), ["Aborted", "Closed"], "writer.close() after service.close()");
    },
  },
  {
    id: "lifecycle/opens-racing-close",
    title: "opens issued just before the service closes fail with Closed, now or on first use",
    async run({ service }) {
      const blob = await smallBlob();
      await put(service, blob.data);
      // Read it once, so a backend that caches blobs or connections has them warm.
      checkBytes(await readBlob(service, blob.digest), blob.data, "the blob read back before the race");
      const opening = Promise.all([
        settled(service.openRead(blob.digest), "openRead() racing close()"),
        settled(service.openWrite(), "openWrite() racing close()"),
      ]);
      await resolves(service.close(), "service.close() with opens in flight");
      const [read, write] = await opening;
      if ("value" in read) {
        const reader = read.value;
        check(reader !== undefined, "openRead() racing close() returned undefined for a stored blob");
        await usedAfterClose(reader);
      } else {
        await expectCode(() => Promise.reject(read.error), "Closed", "openRead() racing close()");
      }
      if ("value" in write) {
        const writer = write.value;
        const wrote = await settled(writer.write(blob.data), "write() on a writer opened as the service closed");
        if ("error" in wrote) {
          await expectCode(
            () => Promise.reject(wrote.error),
            ["Closed", "Aborted"],
            "write() on a writer opened as the service closed",
          );
        }
        await expectCode(
          () => writer.close(),
          ["Closed", "Aborted"],
          "close() of a writer opened as the service closed",
        );
      } else {
        await expectCode(() => Promise.reject(write.error), "Closed", "openWrite() racing close()");
      }
    },
  },
];

/** A reader that was opened as its service closed must not serve bytes any more. */
async function usedAfterClose(reader: BlobReader): Promise<void> {
  try {
    await rejectsWith(reader.read(), "Closed", "read() on a reader opened as the service closed");
  } finally {
    await reader.close();
  }
}
