import { type BlobReader, type BlobService, isCastoreError, type SeekOrigin } from "castore-core";
import { check, checkBytes, checkEqual, expectCode } from "../assertions.js";
import { type ConformanceCase, refuses, requires } from "../capabilities.js";
import { BLOB_B, BLOB_C, EMPTY, type Fixture, HELLOWORLD } from "../fixtures.js";
import { openPresent, put, readExact, readToEnd, readToEndInto } from "../io.js";

/** Stores `fixture`, opens a reader on it, runs `body`, and closes the reader. */
async function withReader(
  service: BlobService,
  fixture: Fixture,
  body: (reader: BlobReader) => Promise<void>,
): Promise<void> {
  await put(service, fixture.data);
  const reader = await openPresent(service, fixture.digest);
  try {
    await body(reader);
  } finally {
    await reader.close();
  }
}

/** Reads `length` bytes and compares them with the fixture at the reader's position. */
async function expectBytesAt(reader: BlobReader, fixture: Fixture, length: number, what: string): Promise<void> {
  const at = reader.position;
  const bytes = await readExact(reader, length);
  checkBytes(bytes, fixture.data.subarray(at, at + length), `${what} (${length} bytes at ${at})`);
  checkEqual(reader.position, at + length, `reader.position after reading ${length} bytes at ${at}`);
}

async function expectSeek(
  reader: BlobReader,
  offset: number,
  origin: SeekOrigin,
  expected: number,
  what: string,
): Promise<void> {
  checkEqual(await reader.seek(offset, origin), expected, `${what}: seek(${offset}, "${origin}") result`);
  checkEqual(reader.position, expected, `${what}: reader.position after seek(${offset}, "${origin}")`);
}

async function expectEnd(reader: BlobReader, what: string): Promise<void> {
  checkEqual(await reader.read(), undefined, what);
}

export const readerCases: ConformanceCase[] = [
  {
    id: "reader/rust-seek-sequence",
    title: "the Rust original's seek sequence on BLOB_B",
    async run({ service }) {
      await withReader(service, BLOB_B, async (reader) => {
        let pos = 0;
        await expectBytesAt(reader, BLOB_B, 10, "first 10 bytes");
        pos += 10;
        await expectSeek(reader, pos, "start", pos, "seek to the current position");
        await expectBytesAt(reader, BLOB_B, 10, "10 bytes after seeking to the current position");
        pos += 10;
        await expectSeek(reader, pos + 5, "start", pos + 5, "seek 5 bytes forward from the start");
        pos += 5;
        await expectBytesAt(reader, BLOB_B, 10, "10 bytes after seeking 5 forward");
        pos += 10;
        await expectSeek(reader, 12345, "current", pos + 12345, "seek 12345 bytes forward from the current position");
        pos += 12345;
        await expectBytesAt(reader, BLOB_B, 10, "10 bytes after seeking 12345 forward");
        await expectSeek(reader, BLOB_B.data.length, "start", BLOB_B.data.length, "seek to the end");
        checkBytes(await readToEnd(reader), new Uint8Array(0), "reading after seeking to the end");
        await seekPastEndReadsNothing(reader, BLOB_B.data.length + 1);
      });
    },
  },
  {
    id: "reader/seek-past-end",
    title: "seeking past the end either fails or reads nothing",
    async run({ service }) {
      await withReader(service, HELLOWORLD, async (reader) => {
        await expectBytesAt(reader, HELLOWORLD, 3, "first 3 bytes");
        await seekPastEndReadsNothing(reader, HELLOWORLD.data.length + 1000);
      });
      await withReader(service, BLOB_C, async (reader) => {
        await seekPastEndReadsNothing(reader, BLOB_C.data.length + (1 << 20));
      });
    },
  },
  {
    id: "reader/forward-seeks-across-boundaries",
    title: "forward seeks and small reads around typical chunk and message boundaries",
    async run({ service }) {
      // Storage is often cut at powers of two (64 KiB, 256 KiB, 1 MiB, 4 MiB): off-by-one errors live there.
      const targets = new Set<number>();
      for (const boundary of [1 << 14, 1 << 16, 1 << 18, 1 << 20, 2 << 20, 4 << 20, 5 << 20]) {
        for (const delta of [-3, -1, 0, 1]) targets.add(boundary + delta);
      }
      await withReader(service, BLOB_C, async (reader) => {
        let position = 0;
        for (const target of [...targets].sort((a, b) => a - b)) {
          if (target < position) continue;
          await expectSeek(reader, target - position, "current", target, `forward seek to ${target}`);
          await expectBytesAt(reader, BLOB_C, 2, `2 bytes at ${target}`);
          position = target + 2;
        }
        // Whatever follows the last target, to the end (forward only, so stream readers run it too).
        checkBytes(await readToEnd(reader), BLOB_C.data.subarray(position), "the bytes after the last seek");
      });
    },
  },
  {
    id: "reader/backward-seek",
    title: "seeking backwards re-reads the right bytes",
    skipReason: requires("backwardSeek"),
    async run({ service }) {
      await withReader(service, BLOB_C, async (reader) => {
        check(reader.seekable, "reader.seekable must be true when the backend declares backwardSeek");
        await expectSeek(reader, 500_000, "start", 500_000, "seek into the middle");
        await expectBytesAt(reader, BLOB_C, 100, "bytes in the middle");
        await expectSeek(reader, 0, "start", 0, "seek back to the start");
        await expectBytesAt(reader, BLOB_C, 100, "bytes at the start");
        await expectSeek(reader, -5, "current", 95, "seek 5 back from the current position");
        await expectBytesAt(reader, BLOB_C, 10, "bytes after seeking 5 back");
        // Jump around in a fixed pseudo-random order, forwards and backwards.
        let target = 12_345;
        for (let i = 0; i < 25; i++) {
          target = (target * 7_919 + 104_729) % BLOB_C.data.length;
          await expectSeek(reader, target, "start", target, `jump ${i}`);
          await expectBytesAt(reader, BLOB_C, Math.min(333, BLOB_C.data.length - target), `bytes after jump ${i}`);
        }
        // After reading to the end, seek back and read the whole blob again.
        await expectSeek(reader, BLOB_C.data.length - 7, "start", BLOB_C.data.length - 7, "seek near the end");
        checkBytes(await readToEnd(reader), BLOB_C.data.subarray(-7), "the last 7 bytes");
        await expectSeek(reader, 0, "start", 0, "seek back to the start after the end");
        checkBytes(await readToEnd(reader), BLOB_C.data, "BLOB_C re-read after seeking back");
      });
    },
  },
  {
    id: "reader/seek-from-end",
    title: "seeking relative to the end",
    skipReason: requires("seekFromEnd"),
    async run({ service }) {
      const length = BLOB_B.data.length;
      await withReader(service, BLOB_B, async (reader) => {
        checkEqual(reader.size, length, "reader.size must be known when the backend declares seekFromEnd");
        await expectSeek(reader, -10, "end", length - 10, "seek 10 before the end");
        await expectBytesAt(reader, BLOB_B, 10, "the last 10 bytes");
        await expectEnd(reader, "read() after the last byte");
        await expectSeek(reader, 0, "end", length, "seek to the end");
        await expectEnd(reader, "read() after seeking to the end");
        await seekPastEndReadsNothing(reader, length + 1);
      });
      await withReader(service, BLOB_B, async (reader) => {
        await expectSeek(reader, -length, "end", 0, "seek to the start from the end");
        checkBytes(await readToEnd(reader), BLOB_B.data, "BLOB_B read after seeking to the start from the end");
      });
      await withReader(service, EMPTY, async (reader) => {
        await expectSeek(reader, 0, "end", 0, "EMPTY: seek to the end");
        await expectEnd(reader, "EMPTY: read() at the end");
      });
    },
  },
  {
    id: "reader/backward-seek-refused",
    title: "a forward-only reader refuses backward seeks with Unsupported and stays usable",
    skipReason: refuses("backwardSeek"),
    async run({ service }) {
      await withReader(service, BLOB_B, async (reader) => {
        checkEqual(reader.seekable, false, "reader.seekable of a backend without backwardSeek");
        await expectBytesAt(reader, BLOB_B, 100, "first 100 bytes");
        await expectCode(() => reader.seek(50, "start"), "Unsupported", "seek(50) after reading 100 bytes");
        await expectCode(() => reader.seek(-1, "current"), "Unsupported", 'seek(-1, "current")');
        checkEqual(reader.position, 100, "reader.position after refused seeks");
        await expectBytesAt(reader, BLOB_B, 100, "the next 100 bytes after refused seeks");
      });
    },
  },
  {
    id: "reader/seek-from-end-refused",
    title: "a reader without seek-from-end refuses it with Unsupported and stays usable",
    skipReason: refuses("seekFromEnd"),
    async run({ service }) {
      await withReader(service, BLOB_B, async (reader) => {
        await expectBytesAt(reader, BLOB_B, 10, "first 10 bytes");
        await expectCode(() => reader.seek(0, "end"), "Unsupported", 'seek(0, "end")');
        await expectCode(() => reader.seek(-10, "end"), "Unsupported", 'seek(-10, "end")');
        checkEqual(reader.position, 10, "reader.position after refused seeks");
        await expectBytesAt(reader, BLOB_B, 10, "the next 10 bytes after refused seeks");
      });
    },
  },
  {
    id: "reader/invalid-seek",
    title: "invalid seeks fail with InvalidArgument and leave the position alone",
    async run({ service }) {
      await withReader(service, BLOB_B, async (reader) => {
        await expectBytesAt(reader, BLOB_B, 10, "first 10 bytes");
        const bad: [number, SeekOrigin, string][] = [
          [-1, "start", "a negative target"],
          [-11, "current", "a target before the start"],
          [1.5, "start", "a fractional offset"],
          [Number.NaN, "start", "NaN"],
          [Number.POSITIVE_INFINITY, "start", "Infinity"],
          [0, "sideways" as SeekOrigin, "an unknown origin"],
        ];
        for (const [offset, origin, what] of bad) {
          await expectCode(
            () => reader.seek(offset, origin),
            "InvalidArgument",
            `seek(${offset}, "${origin}"): ${what}`,
          );
          checkEqual(reader.position, 10, `reader.position after seeking to ${what}`);
        }
        await expectBytesAt(reader, BLOB_B, 10, "the next 10 bytes after invalid seeks");
      });
    },
  },
  {
    id: "reader/max-bytes",
    title: "read({ maxBytes }) never returns more than asked, down to one byte at a time",
    async run({ service }) {
      await withReader(service, HELLOWORLD, async (reader) => {
        checkBytes(await readToEnd(reader, 1), HELLOWORLD.data, "HELLOWORLD read one byte at a time");
      });
      await withReader(service, BLOB_B, async (reader) => {
        checkBytes(await readToEnd(reader, 4093), BLOB_B.data, "BLOB_B read in pieces of at most 4093 bytes");
      });
      await withReader(service, BLOB_C, async (reader) => {
        await readExact(reader, 1_000_003);
        checkBytes(await readToEnd(reader, (1 << 20) + 1), BLOB_C.data.subarray(1_000_003), "rest of BLOB_C");
      });
    },
  },
  {
    id: "reader/invalid-max-bytes",
    title: "read() with a maxBytes that is not a positive integer fails with InvalidArgument",
    async run({ service }) {
      await withReader(service, HELLOWORLD, async (reader) => {
        for (const maxBytes of [0, -1, 1.5, Number.NaN]) {
          await expectCode(() => reader.read({ maxBytes }), "InvalidArgument", `read({ maxBytes: ${maxBytes} })`);
          checkEqual(reader.position, 0, `reader.position after read({ maxBytes: ${maxBytes} })`);
        }
        checkBytes(await readToEnd(reader), HELLOWORLD.data, "HELLOWORLD read after the invalid reads");
      });
    },
  },
  {
    id: "reader/into",
    title: "read({ into }) returns the blob, at most into.length bytes a time, whatever the caller then writes into it",
    async run({ service }) {
      for (const fixture of [HELLOWORLD, BLOB_B, BLOB_C]) {
        for (const size of [1, 4093, 1 << 20]) {
          // A byte at a time through a large blob would take millions of reads: that size reads the tail.
          const from = size === 1 ? Math.max(0, fixture.data.length - 5_000) : 0;
          await withReader(service, fixture, async (reader) => {
            await reader.seek(from);
            const expected = fixture.data.subarray(from);
            checkBytes(
              await readToEndInto(reader, size),
              expected,
              `${fixture.name} read into buffers of ${size} bytes`,
            );
            await expectEnd(reader, `${fixture.name}: read() after reading to the end into buffers`);
          });
        }
      }
    },
  },
  {
    id: "reader/into-then-seek-back",
    title: "bytes read with into read again the same after a seek back, with or without into",
    skipReason: requires("backwardSeek"),
    async run({ service }) {
      await withReader(service, BLOB_C, async (reader) => {
        checkBytes(await readToEndInto(reader, 65_536), BLOB_C.data, "BLOB_C read into buffers");
        await expectSeek(reader, 0, "start", 0, "back to the start");
        checkBytes(await readToEnd(reader), BLOB_C.data, "BLOB_C read again with plain reads");
        await expectSeek(reader, 1_000_003, "start", 1_000_003, "back into the blob");
        checkBytes(
          await readToEndInto(reader, 100_000),
          BLOB_C.data.subarray(1_000_003),
          "BLOB_C from 1000003 read into buffers again",
        );
      });
    },
  },
  {
    id: "reader/invalid-into",
    title: "read() with an into that is not a Uint8Array of at least one byte fails with InvalidArgument",
    async run({ service }) {
      await withReader(service, HELLOWORLD, async (reader) => {
        const bad: [unknown, string][] = [
          [new Uint8Array(0), "an empty Uint8Array"],
          [new ArrayBuffer(16), "an ArrayBuffer"],
          [[1, 2, 3], "an array of numbers"],
          ["hello", "a string"],
        ];
        for (const [into, what] of bad) {
          await expectCode(
            () => reader.read({ into: into as Uint8Array }),
            "InvalidArgument",
            `read({ into: ${what} })`,
          );
          checkEqual(reader.position, 0, `reader.position after read({ into: ${what} })`);
        }
        checkBytes(await readToEnd(reader), HELLOWORLD.data, "HELLOWORLD read after the invalid reads");
      });
    },
  },
  {
    id: "reader/end-is-sticky",
    title: "reading after the end keeps returning undefined",
    async run({ service }) {
      for (const fixture of [EMPTY, HELLOWORLD, BLOB_B]) {
        await withReader(service, fixture, async (reader) => {
          checkBytes(await readToEnd(reader), fixture.data, `${fixture.name} read to the end`);
          for (let i = 0; i < 3; i++) await expectEnd(reader, `${fixture.name}: read() number ${i + 1} after the end`);
          await expectEnd(reader, `${fixture.name}: read({ maxBytes: 1 }) after the end`);
          const rest: Uint8Array[] = [];
          for await (const chunk of reader) rest.push(chunk);
          checkEqual(rest.length, 0, `${fixture.name}: chunks yielded by iterating after the end`);
        });
      }
    },
  },
  {
    id: "reader/iteration",
    title: "iterating a reader yields the whole blob in order",
    async run({ service }) {
      await withReader(service, BLOB_C, async (reader) => {
        const chunks: Uint8Array[] = [];
        for await (const chunk of reader) {
          check(chunk.length > 0, "iteration yielded an empty chunk");
          chunks.push(chunk);
        }
        const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
        checkEqual(total, BLOB_C.data.length, "bytes yielded by iterating BLOB_C");
        let offset = 0;
        for (const chunk of chunks) {
          checkBytes(chunk, BLOB_C.data.subarray(offset, offset + chunk.length), `chunk at ${offset}`);
          offset += chunk.length;
        }
      });
    },
  },
  {
    id: "reader/close",
    title: "a closed reader rejects reads and seeks with Closed; close is idempotent",
    async run({ service }) {
      await withReader(service, HELLOWORLD, async (reader) => {
        await expectBytesAt(reader, HELLOWORLD, 2, "first 2 bytes");
        await reader.close();
        await reader.close();
        await expectCode(() => reader.read(), "Closed", "read() after close()");
        await expectCode(() => reader.seek(0), "Closed", "seek(0) after close()");
        await reader[Symbol.asyncDispose]();
      });
    },
  },
  {
    id: "reader/concurrent-readers",
    title: "concurrent readers of the same blob each read it whole",
    async run({ service }) {
      await put(service, BLOB_C.data);
      const readers = await Promise.all(Array.from({ length: 4 }, () => openPresent(service, BLOB_C.digest)));
      try {
        // Round-robin reads with a different piece size per reader, so their positions interleave.
        const results = await Promise.all(
          readers.map(async (reader, i) => {
            const chunks: Uint8Array[] = [];
            for (;;) {
              const chunk = await reader.read({ maxBytes: 65_536 + i * 4_099 });
              if (chunk === undefined) return chunks;
              chunks.push(chunk);
              await Promise.resolve();
            }
          }),
        );
        for (const [i, chunks] of results.entries()) {
          let offset = 0;
          for (const chunk of chunks) {
            checkBytes(chunk, BLOB_C.data.subarray(offset, offset + chunk.length), `reader ${i}, chunk at ${offset}`);
            offset += chunk.length;
          }
          checkEqual(offset, BLOB_C.data.length, `bytes read by reader ${i}`);
        }
      } finally {
        await Promise.all(readers.map((reader) => reader.close()));
      }
    },
  },
];

/** Seeking past the end may fail (any castore error) or succeed; if it succeeds, reads return nothing. */
async function seekPastEndReadsNothing(reader: BlobReader, target: number): Promise<void> {
  let moved: number;
  try {
    moved = await reader.seek(target, "start");
  } catch (error) {
    check(
      isCastoreError(error),
      `seek(${target}) past the end may fail, but with a castore error, not ${String(error)}`,
    );
    return;
  }
  checkEqual(moved, target, `seek(${target}) past the end: result`);
  checkBytes(await readToEnd(reader), new Uint8Array(0), `reading after seek(${target}) past the end`);
  await expectEnd(reader, `read() again after seek(${target}) past the end`);
}
