import * as zlib from "node:zlib";
import { B3Digest, digestOf, isIntegrity } from "castore-core";
import { describe, expect, it } from "vitest";
import { blobKey, chunkKey, normalizePrefix } from "../src/layout.js";
import { decodeChunkList, encodeChunkList } from "../src/stat-blob.js";
import { compressChunk, decompressChunk } from "../src/zstd.js";
import {
  HELLO_WORLD_CHUNK_OBJECT,
  SNIX_8MIB,
  snixGoldenInput,
  statBlobResponseBytes,
  zstdRawFrame,
} from "./support/snix-objects.js";

const HELLO_WORLD = new TextEncoder().encode("Hello World");

function caught(operation: () => unknown): unknown {
  try {
    operation();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}

describe("snix layout keys", () => {
  it("shards by the first two digest bytes (four hex characters), as snix's code does", async () => {
    const digest = await digestOf(HELLO_WORLD);
    const hex = "41f8394111eb713a22165c46c90ab8f0fd9399c92028fd6d288944b23ff5bf76"; // snix's doc example
    expect(digest.toHex()).toBe(hex);
    expect(blobKey("", digest)).toBe(`blobs/b3/41f8/${hex}`);
    expect(chunkKey("", digest)).toBe(`chunks/b3/41f8/${hex}`);
    expect(blobKey("some/prefix", digest)).toBe(`some/prefix/blobs/b3/41f8/${hex}`);
  });

  it("normalises prefixes and refuses . and ..", () => {
    expect(normalizePrefix("/a//b/")).toBe("a/b");
    expect(normalizePrefix("")).toBe("");
    expect(() => normalizePrefix("a/../b")).toThrow(/\.\./);
    expect(() => normalizePrefix("./a")).toThrow();
  });
});

describe("the 8 MiB golden blob", () => {
  it("regenerates the input and the chunk digests the Rust crate reported", async () => {
    const input = snixGoldenInput();
    expect((await digestOf(input)).toHex()).toBe(SNIX_8MIB.input_b3);
    let end = 0;
    for (const chunk of SNIX_8MIB.chunks) {
      expect(chunk.offset).toBe(end);
      end += chunk.length;
      expect((await digestOf(input.subarray(chunk.offset, end))).toHex()).toBe(chunk.b3);
    }
    expect(end).toBe(input.length);
  });
});

describe("StatBlobResponse (blob objects)", () => {
  it("an empty chunk list (a one-piece blob) is zero bytes", () => {
    expect(encodeChunkList([]).length).toBe(0);
    expect(decodeChunkList(new Uint8Array(0), "x")).toEqual([]);
  });

  it("encodes the 8 MiB golden chunk list byte for byte as the hand-built protobuf", () => {
    const chunks = SNIX_8MIB.chunks.map((c) => ({ digest: B3Digest.parse(c.b3), size: c.length }));
    const golden = statBlobResponseBytes(chunks.map((c) => ({ digest: c.digest.bytes, size: c.size })));
    expect(Buffer.from(encodeChunkList(chunks)).equals(Buffer.from(golden))).toBe(true);
    const decoded = decodeChunkList(golden, "golden");
    expect(decoded.map((c) => [c.digest.toHex(), c.size])).toEqual(SNIX_8MIB.chunks.map((c) => [c.b3, c.length]));
  });

  it("skips unknown fields and bao (field 3), as protobuf readers must", () => {
    const digest = new Uint8Array(32).fill(7);
    const base = statBlobResponseBytes([{ digest, size: 5 }]);
    const withExtras = Uint8Array.from([0x1a, 2, 0xaa, 0xbb, ...base, 0x28, 1]); // bao = 3 bytes, field 5 varint
    expect(decodeChunkList(withExtras, "x").map((c) => c.size)).toEqual([5]);
  });

  it.each([
    ["a truncated object", Uint8Array.from([0x12, 40, 0x0a])],
    ["a 31-byte digest", Uint8Array.from([0x12, 35, 0x0a, 31, ...new Uint8Array(31), 0x10, 1])],
    ["an empty chunk", Uint8Array.from([0x12, 34, 0x0a, 32, ...new Uint8Array(32)])],
  ])("%s is an Integrity error naming the object", (_, bytes) => {
    let error: unknown;
    try {
      decodeChunkList(bytes, "blobs/b3/abcd/…");
    } catch (e) {
      error = e;
    }
    expect(isIntegrity(error), String(error)).toBe(true);
    expect(String(error)).toContain("blobs/b3/abcd/…");
  });
});

describe("zstd chunk objects", () => {
  it("reads the frame libzstd writes for snix (no content size, no checksum)", async () => {
    const bytes = decompressChunk(HELLO_WORLD_CHUNK_OBJECT, 1024, "x");
    expect(new TextDecoder().decode(bytes)).toBe("Hello World");
  });

  it("reads raw-block frames of incompressible chunks, several blocks long", async () => {
    const data = snixGoldenInput().subarray(0, 300_000);
    const bytes = decompressChunk(zstdRawFrame(data), data.length, "x");
    expect(Buffer.from(bytes).equals(Buffer.from(data))).toBe(true);
  });

  it("round-trips what it writes", async () => {
    const data = new Uint8Array(200_000).map((_, i) => i % 13);
    const compressed = compressChunk(data);
    expect(compressed.length).toBeLessThan(data.length / 10);
    expect(Buffer.from(decompressChunk(compressed, data.length, "x")).equals(Buffer.from(data))).toBe(true);
  });

  it("stores incompressible chunks as raw blocks, which any zstd decoder reads", () => {
    const data = snixGoldenInput().subarray(0, 400_000); // pseudo-random: incompressible
    const compressed = compressChunk(data);
    expect(compressed.length).toBe(6 + 4 * 3 + data.length); // header, 4 raw blocks of ≤ 128 KiB
    expect(Buffer.from(compressed).equals(Buffer.from(zstdRawFrame(data)))).toBe(true);
    expect(Buffer.from(zlib.zstdDecompressSync(compressed)).equals(Buffer.from(data))).toBe(true);
    // Handed over in pieces (as the chunk splitter does), the frame is the same.
    const pieces = [data.subarray(0, 1), data.subarray(1, 200_001), data.subarray(200_001)];
    expect(Buffer.from(compressChunk(pieces)).equals(Buffer.from(compressed))).toBe(true);
    // Text-like data is compressed.
    const text = new TextEncoder().encode("castore stores blobs by digest. ".repeat(10_000));
    expect(compressChunk(text).length).toBeLessThan(text.length / 20);
  });

  it("a bomb is an Integrity error, not an allocation: output is bounded by the chunk size", async () => {
    const bomb = compressChunk(new Uint8Array(16 * 1024 * 1024)); // 16 MiB of zeros, under 1 KiB compressed
    expect(bomb.length).toBeLessThan(4096);
    const error = caught(() => decompressChunk(bomb, 524_288, "chunks/b3/0000/…"));
    expect(isIntegrity(error), String(error)).toBe(true);
    expect(String(error)).toContain("more than 524288 bytes");
  });

  it("raw-block frames read without zstd give what zstd gives, and stay bounded and checked", () => {
    const data = snixGoldenInput().subarray(0, 300_000);
    const frame = zstdRawFrame(data);
    expect(Buffer.from(decompressChunk(frame, data.length, "x")).equals(zlib.zstdDecompressSync(frame))).toBe(true);
    expect(decompressChunk(zstdRawFrame(new Uint8Array(0)), 10, "x").length).toBe(0);
    // More than the chunk's size, cut short, or trailing bytes: Integrity errors, as from zstd.
    expect(String(caught(() => decompressChunk(frame, data.length - 1, "x")))).toContain("more than");
    for (const damaged of [frame.subarray(0, frame.length - 1), Buffer.concat([frame, Buffer.from([0])])]) {
      expect(isIntegrity(caught(() => decompressChunk(damaged, data.length, "x")))).toBe(true);
    }
    // A frame with a checksum is zstd's to check.
    const checked = zlib.zstdCompressSync(data, { params: { [zlib.constants.ZSTD_c_checksumFlag]: 1 } });
    expect(Buffer.from(decompressChunk(checked, data.length, "x")).equals(Buffer.from(data))).toBe(true);
    checked.writeUInt8((checked.at(-1) as number) ^ 1, checked.length - 1);
    expect(isIntegrity(caught(() => decompressChunk(checked, data.length, "x")))).toBe(true);
  });

  it.each([
    ["garbage", new TextEncoder().encode("not zstd at all")],
    ["nothing", new Uint8Array(0)],
    ["a truncated frame", HELLO_WORLD_CHUNK_OBJECT.subarray(0, 12)],
  ])("%s is an Integrity error", async (_, bytes) => {
    const error = caught(() => decompressChunk(bytes, 1024, "x"));
    expect(isIntegrity(error), String(error)).toBe(true);
  });
});
