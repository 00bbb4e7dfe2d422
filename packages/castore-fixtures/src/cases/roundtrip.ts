import { check, checkBytes, checkDigest, checkEqual } from "../assertions.js";
import { type ConformanceCase, requires } from "../capabilities.js";
import { BLOB_A, BLOB_B, BLOB_C, EMPTY, FIXTURES, type Fixture, HELLOWORLD } from "../fixtures.js";
import { openPresent, piecesOf, put, readBlob, readToEnd, writePieces } from "../io.js";

/** put → has → read back, with the returned digest checked against the fixture's. */
function roundTrip(fixture: Fixture): ConformanceCase {
  return {
    id: `roundtrip/${fixture.name.toLowerCase()}`,
    title: `put → has → read back ${fixture.name} (${fixture.data.length} bytes)`,
    async run({ service }) {
      checkEqual(await service.has(fixture.digest), false, `has(${fixture.name}) before storing it`);
      const writer = await service.openWrite();
      await writer.write(fixture.data);
      checkEqual(writer.bytesWritten, fixture.data.length, "writer.bytesWritten after writing the blob");
      checkDigest(await writer.close(), fixture.digest, `digest returned by close() for ${fixture.name}`);
      checkEqual(await service.has(fixture.digest), true, `has(${fixture.name}) after storing it`);

      const reader = await openPresent(service, fixture.digest);
      try {
        checkDigest(reader.digest, fixture.digest, "reader.digest");
        checkEqual(reader.position, 0, "reader.position of a fresh reader");
        if (reader.size !== undefined) checkEqual(reader.size, fixture.data.length, "reader.size");
        checkBytes(await readToEnd(reader), fixture.data, `${fixture.name} read back`);
        checkEqual(reader.position, fixture.data.length, "reader.position after reading to the end");
      } finally {
        await reader.close();
      }
      // A blob can be read any number of times.
      checkBytes(await readBlob(service, fixture.digest), fixture.data, `${fixture.name} read back a second time`);
    },
  };
}

/** Writes the same bytes in different splits; every split must give the fixture's digest. */
function splits(fixture: Fixture, splitSizes: readonly (readonly number[])[]): ConformanceCase {
  return {
    id: `roundtrip/splits-${fixture.name.toLowerCase()}`,
    title: `${fixture.name} written in different splits gives the same digest and bytes`,
    async run({ service }) {
      for (const sizes of splitSizes) {
        const digest = await writePieces(service, piecesOf(fixture.data, sizes));
        checkDigest(digest, fixture.digest, `${fixture.name} written in pieces of [${sizes.join(", ")}] bytes`);
      }
      checkBytes(await readBlob(service, fixture.digest), fixture.data, `${fixture.name} read back`);
    },
  };
}

export const roundTripCases: ConformanceCase[] = [
  ...[EMPTY, HELLOWORLD, BLOB_A, BLOB_B, BLOB_C].map(roundTrip),
  {
    id: "roundtrip/all-fixtures-in-one-store",
    title: "every fixture stored in one service gets its own digest and reads back",
    async run({ service }) {
      // Largest first, so a backend that mixes up blobs cannot pass by returning the latest one.
      for (const fixture of [...FIXTURES].reverse()) {
        checkDigest(await put(service, fixture.data), fixture.digest, `digest returned for ${fixture.name}`);
      }
      for (const fixture of FIXTURES) {
        checkEqual(await service.has(fixture.digest), true, `has(${fixture.name})`);
        checkBytes(await readBlob(service, fixture.digest), fixture.data, `${fixture.name} read back`);
      }
    },
  },
  {
    id: "roundtrip/nothing-written-is-empty",
    title: "a writer closed without writing, or after writing only empty chunks, stores EMPTY",
    async run({ service }) {
      const silent = await service.openWrite();
      checkDigest(await silent.close(), EMPTY.digest, "close() of a writer that wrote nothing");
      const empties = await service.openWrite();
      await empties.write(new Uint8Array(0));
      await empties.write([new Uint8Array(0), new Uint8Array(0)]);
      checkEqual(empties.bytesWritten, 0, "bytesWritten after writing only empty chunks");
      checkDigest(await empties.close(), EMPTY.digest, "close() of a writer that wrote only empty chunks");
      checkEqual(await service.has(EMPTY.digest), true, "has(EMPTY) after storing it");
      checkBytes(await readBlob(service, EMPTY.digest), EMPTY.data, "EMPTY read back");
    },
  },
  splits(HELLOWORLD, [[1], [5, 7], [12]]),
  splits(BLOB_A, [[1], [2]]),
  splits(BLOB_B, [[1, 4093, 65537, 7], [7, 4093, 65537], [1 << 20], [BLOB_B.data.length]]),
  splits(BLOB_C, [[(1 << 20) + 1], [3, 999_983], [BLOB_C.data.length]]),
  {
    id: "roundtrip/input-shapes",
    title: "a Uint8Array, an iterable and an async iterable of chunks store the same blob",
    async run({ service }) {
      const pieces = [...piecesOf(BLOB_B.data, [100_000, 3])];
      async function* asyncPieces(): AsyncGenerator<Uint8Array> {
        for (const piece of pieces) yield piece;
      }
      for (const [shape, input] of [
        ["Uint8Array", BLOB_B.data],
        ["array", pieces],
        ["generator", pieces.values()],
        ["async generator", asyncPieces()],
      ] as const) {
        const writer = await service.openWrite();
        await writer.write(input);
        checkDigest(await writer.close(), BLOB_B.digest, `BLOB_B written as one ${shape}`);
      }
      checkBytes(await readBlob(service, BLOB_B.digest), BLOB_B.data, "BLOB_B read back");
    },
  },
  {
    id: "roundtrip/views-with-offsets",
    title: "views into larger buffers (non-zero byteOffset) are written as exactly their bytes",
    async run({ service }) {
      // Catches backends that pass `view.buffer` on without its byteOffset and byteLength.
      const backing = new Uint8Array(BLOB_B.data.length + 2_000);
      backing.fill(0x5a);
      backing.set(BLOB_B.data, 1_000);
      const view = backing.subarray(1_000, 1_000 + BLOB_B.data.length);
      checkDigest(await put(service, view), BLOB_B.digest, "BLOB_B written as a view at byteOffset 1000");
      const small = new Uint8Array(64).fill(0x5a);
      small.set(HELLOWORLD.data, 17);
      const pieces = [small.subarray(17, 20), small.subarray(20, 29)];
      checkDigest(await writePieces(service, pieces), HELLOWORLD.digest, "HELLOWORLD written as two small views");
      checkBytes(await readBlob(service, BLOB_B.digest), BLOB_B.data, "BLOB_B read back");
      checkBytes(await readBlob(service, HELLOWORLD.digest), HELLOWORLD.data, "HELLOWORLD read back");
    },
  },
  {
    id: "roundtrip/stored-once",
    title: "storing the same bytes again (in another split) stores them once",
    skipReason: requires("storedBlobCount"),
    async run({ service, capabilities }) {
      const count = capabilities.storedBlobCount!;
      const before = await count(service);
      await put(service, BLOB_B.data);
      checkEqual(await count(service), before + 1, "stored blob count after storing BLOB_B");
      await writePieces(service, piecesOf(BLOB_B.data, [1000]));
      await put(service, BLOB_B.data);
      checkEqual(await count(service), before + 1, "stored blob count after storing BLOB_B twice more");
      await put(service, BLOB_A.data);
      checkEqual(await count(service), before + 2, "stored blob count after also storing BLOB_A");
      checkBytes(await readBlob(service, BLOB_B.digest), BLOB_B.data, "BLOB_B read back");
    },
  },
  {
    id: "roundtrip/reused-input-buffer",
    title: "a caller may reuse its buffer once write() resolves",
    async run({ service }) {
      // Catches writers that keep a reference to the caller's buffer instead of copying it.
      const buffer = new Uint8Array(4096);
      const writer = await service.openWrite();
      for (const piece of piecesOf(BLOB_B.data, [4096])) {
        buffer.set(piece);
        await writer.write(buffer.subarray(0, piece.length));
      }
      buffer.fill(0xee);
      checkDigest(await writer.close(), BLOB_B.digest, "digest of BLOB_B written through one reused buffer");
      buffer.fill(0xdd);
      checkBytes(await readBlob(service, BLOB_B.digest), BLOB_B.data, "BLOB_B read back after the buffer changed");
    },
  },
  {
    id: "roundtrip/reused-iterable-buffer",
    title: "an iterable passed to write() may reuse its buffer for each next piece",
    async run({ service }) {
      // A file read into reused buffers (readFilePieces) relies on this: a writer is done with a
      // piece before it asks the iterable for the next one.
      const buffer = new Uint8Array(4096);
      async function* reusing(): AsyncGenerator<Uint8Array> {
        for (const piece of piecesOf(BLOB_B.data, [4096])) {
          buffer.set(piece);
          yield buffer.subarray(0, piece.length);
        }
        buffer.fill(0xee);
      }
      const writer = await service.openWrite();
      await writer.write(reusing());
      checkDigest(await writer.close(), BLOB_B.digest, "digest of BLOB_B written as one iterable over a reused buffer");
      buffer.fill(0xdd);
      checkBytes(await readBlob(service, BLOB_B.digest), BLOB_B.data, "BLOB_B read back after the buffer changed");
    },
  },
  {
    id: "roundtrip/read-results-are-private",
    title: "changing bytes a reader returned does not change the stored blob",
    async run({ service }) {
      await put(service, BLOB_B.data);
      const first = await openPresent(service, BLOB_B.digest);
      const second = await openPresent(service, BLOB_B.digest);
      try {
        const chunk = await first.read();
        check(chunk !== undefined, "read() of BLOB_B returned undefined");
        chunk.fill(0xaa);
        const all = await readToEnd(first);
        all.fill(0xbb);
        checkBytes(
          await readToEnd(second),
          BLOB_B.data,
          "BLOB_B read by a second reader after the first one's chunks changed",
        );
      } finally {
        await first.close();
        await second.close();
      }
      checkBytes(await readBlob(service, BLOB_B.digest), BLOB_B.data, "BLOB_B read back by a new reader");
    },
  },
];
