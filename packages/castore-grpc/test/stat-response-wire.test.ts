// StatBlobResponse's field numbers are what Rust peers decode: `chunks` is field 2 (ChunkMeta:
// digest 1, size 2) and `bao` field 3. These bytes are written by hand from the protobuf encoding
// rules, not by our generated code, so a renumbered proto fails here.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { StatBlobResponseSchema as SnixStatBlobResponseSchema } from "../src/gen/snix/castore/v1/castore_pb.js";
import { StatBlobResponseSchema } from "../src/gen/tvix/castore/v1/castore_pb.js";

const digestA = new Uint8Array(32).fill(0xaa);
const digestB = new Uint8Array(32).fill(0xbb);

/** A ChunkMeta { digest = 1; size = 2 } as bytes: tag 0x0a, length 32, digest; tag 0x10, varint size. */
const chunkMeta = (digest: Uint8Array, sizeVarint: number[]) => [0x0a, 32, ...digest, 0x10, ...sizeVarint];

// Two chunks of 262144 (varint 80 80 10) and 1000 (varint e8 07) bytes, each as field 2 (tag 0x12).
const first = chunkMeta(digestA, [0x80, 0x80, 0x10]);
const second = chunkMeta(digestB, [0xe8, 0x07]);
const twoChunks = Uint8Array.from([0x12, first.length, ...first, 0x12, second.length, ...second]);

describe.each([
  ["tvix.castore.v1", StatBlobResponseSchema],
  ["snix.castore.v1", SnixStatBlobResponseSchema],
] as const)("%s StatBlobResponse", (_name, schema) => {
  it("encodes chunks as field 2 with ChunkMeta digest = 1, size = 2", () => {
    const message = create(schema, {
      chunks: [
        { digest: digestA, size: 262144n },
        { digest: digestB, size: 1000n },
      ],
    });
    expect(toBinary(schema, message)).toEqual(twoChunks);
  });

  it("decodes a chunk list written the way Rust peers write it", () => {
    const decoded = fromBinary(schema, twoChunks);
    expect(decoded.chunks.map((chunk) => [chunk.digest, chunk.size])).toEqual([
      [digestA, 262144n],
      [digestB, 1000n],
    ]);
    expect(decoded.bao).toHaveLength(0);
  });

  it("encodes bao as field 3, and an empty response as zero bytes", () => {
    expect(toBinary(schema, create(schema, { bao: Uint8Array.of(1, 2) }))).toEqual(Uint8Array.of(0x1a, 2, 1, 2));
    expect(toBinary(schema, create(schema, {}))).toHaveLength(0);
  });
});
