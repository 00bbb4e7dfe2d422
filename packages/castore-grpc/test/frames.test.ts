// The hand-written framing against protobuf-es, the reference encoder and decoder of the messages.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { concatBytes } from "castore-core/backend";
import { checkBytes, pseudoRandomBytes } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { BlobChunkSchema } from "../src/gen/tvix/castore/v1/castore_pb.js";
import { BlobChunkFrameDecoder, blobChunkFrameHeader, encodeFrame, readSingleFrame } from "../src/wire/frames.js";

const MiB = 1 << 20;

/** A framed BlobChunk as protobuf-es and gRPC's framing produce it. */
function referenceFrame(data: Uint8Array): Uint8Array {
  return encodeFrame(toBinary(BlobChunkSchema, create(BlobChunkSchema, { data })));
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return parts.length === 0 ? new Uint8Array(0) : concatBytes([...parts]);
}

/** Everything the decoder yields for `wire` fed in pieces of `pieceSize`. */
function decodeAll(wire: Uint8Array, pieceSize: number, maxMessageBytes = 4 * MiB): Uint8Array[] {
  const decoder = new BlobChunkFrameDecoder(maxMessageBytes);
  const out: Uint8Array[] = [];
  for (let offset = 0; offset < wire.length; offset += pieceSize) {
    out.push(...decoder.push(wire.subarray(offset, offset + pieceSize)));
  }
  decoder.end();
  return out;
}

function connectCode(fn: () => unknown): Code | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConnectError) return error.code;
    throw error;
  }
  return undefined;
}

describe("blobChunkFrameHeader", () => {
  it.each([1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, MiB, 4 * MiB + 3])(
    "header + %i data bytes equal protobuf-es's framed BlobChunk",
    (length) => {
      const data = pseudoRandomBytes(length, length);
      checkBytes(concat([blobChunkFrameHeader(length), data]), referenceFrame(data), "framed BlobChunk");
    },
  );

  it("frames empty data as an empty message, as protobuf-es does", () => {
    expect(blobChunkFrameHeader(0)).toEqual(referenceFrame(new Uint8Array(0)));
  });
});

describe("BlobChunkFrameDecoder", () => {
  const messages = [0, 1, 5, 127, 128, 300, 0, 70_000].map((length, i) => pseudoRandomBytes(length, i + 1));
  const wire = concat(messages.map(referenceFrame));

  it("yields the data of every message, whatever pieces the stream arrives in", () => {
    const expected = concat(messages);
    for (const pieceSize of [1, 2, 3, 5, 6, 7, 11, 64, 1000, 16_384, wire.length]) {
      checkBytes(concat(decodeAll(wire, pieceSize)), expected, `decoded from pieces of ${pieceSize}`);
    }
  });

  it("hands on views of the received bytes, never copies", () => {
    const data = pseudoRandomBytes(50_000, 9);
    const frame = referenceFrame(data);
    const [piece] = new BlobChunkFrameDecoder(MiB).push(frame);
    expect(piece?.buffer).toBe(frame.buffer);
    expect(piece).toEqual(data);
  });

  it("skips fields BlobChunk does not have, of every wire type", () => {
    const data = pseudoRandomBytes(40, 3);
    // field 2 varint 300, field 3 fixed64, field 4 length-delimited "abc", field 5 fixed32, then data
    const message = Uint8Array.from([
      0x10,
      0xac,
      0x02,
      0x19,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      0x22,
      3,
      0x61,
      0x62,
      0x63,
      0x2d,
      9,
      9,
      9,
      9,
      0x0a,
      40,
      ...data,
    ]);
    expect(fromBinary(BlobChunkSchema, message).data).toEqual(data); // what protobuf-es makes of it
    for (const pieceSize of [1, 4, 1000]) expect(concat(decodeAll(encodeFrame(message), pieceSize))).toEqual(data);
  });

  it("refuses an oversized message from its header, before reading it", () => {
    const decoder = new BlobChunkFrameDecoder(1000);
    expect(connectCode(() => decoder.push(blobChunkFrameHeader(1001)))).toBe(Code.ResourceExhausted);
  });

  it("refuses compressed messages (none were negotiated) and unknown flags", () => {
    const frame = referenceFrame(Uint8Array.of(1, 2, 3));
    frame[0] = 1;
    expect(connectCode(() => new BlobChunkFrameDecoder(MiB).push(frame))).toBe(Code.Internal);
    frame[0] = 0x80;
    expect(connectCode(() => new BlobChunkFrameDecoder(MiB).push(frame))).toBe(Code.Internal);
  });

  it("refuses a stream that ends inside a message", () => {
    const frame = referenceFrame(pseudoRandomBytes(100, 1));
    for (const cut of [1, 5, 6, 7, 50, frame.length - 1]) {
      const decoder = new BlobChunkFrameDecoder(MiB);
      decoder.push(frame.subarray(0, cut));
      expect(
        connectCode(() => decoder.end()),
        `cut at ${cut}`,
      ).toBe(Code.Internal);
    }
  });

  it.each([
    ["data with the wrong wire type", [0x08, 1]],
    ["a field longer than its message", [0x0a, 5, 1, 2]],
    ["field number 0", [0x02, 0]],
    ["a group (wire type 3)", [0x0b]],
    ["a tag with no value", [0x10]],
    ["a varint longer than 10 bytes", [0x10, ...new Array(11).fill(0xff), 1]],
  ])("refuses malformed protobuf: %s", (_, bytes) => {
    const message = Uint8Array.from(bytes);
    expect(connectCode(() => decodeAll(encodeFrame(message), message.length + 5))).toBe(Code.Internal);
  });

  it("refuses a message that carries its data field twice rather than misread it", () => {
    const message = Uint8Array.from([0x0a, 2, 1, 2, 0x0a, 1, 3]);
    expect(fromBinary(BlobChunkSchema, message).data).toEqual(Uint8Array.of(3)); // protobuf: last one wins
    expect(connectCode(() => decodeAll(encodeFrame(message), 100))).toBe(Code.Internal);
  });
});

describe("readSingleFrame", () => {
  async function* pieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
    for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
  }
  async function code(promise: Promise<unknown>): Promise<Code | undefined> {
    return promise.then(
      () => undefined,
      (error: unknown) => (error as ConnectError).code,
    );
  }

  it("returns the one message of a body, whatever its pieces", async () => {
    const message = pseudoRandomBytes(1000, 5);
    for (const size of [1, 3, 1005])
      expect(await readSingleFrame(pieces(encodeFrame(message), size), MiB)).toEqual(message);
  });

  it("refuses a missing, truncated, extra or oversized message", async () => {
    const frame = encodeFrame(pseudoRandomBytes(100, 5));
    expect(await code(readSingleFrame(pieces(new Uint8Array(0), 1), MiB))).toBe(Code.Unimplemented);
    expect(await code(readSingleFrame(pieces(frame.subarray(0, 50), 7), MiB))).toBe(Code.Internal);
    expect(await code(readSingleFrame(pieces(concat([frame, frame]), 7), MiB))).toBe(Code.Unimplemented);
    expect(await code(readSingleFrame(pieces(frame, 7), 99))).toBe(Code.ResourceExhausted);
  });
});
