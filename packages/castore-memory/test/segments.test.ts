import { BLOB_C } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { SEGMENT_SIZE, SegmentBuilder, segmentAt } from "../src/segments.js";

function build(pieceSizes: number[], data: Uint8Array) {
  const builder = new SegmentBuilder();
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const size = pieceSizes[i % pieceSizes.length] as number;
    builder.append(data.subarray(offset, offset + size));
    offset += size;
  }
  return builder.finish();
}

describe("SegmentBuilder", () => {
  it.each([[[1 << 20]], [[3, 999_983]], [[SEGMENT_SIZE + 1]], [[BLOB_C.data.length]], [[65_536, 1, 7]]])(
    "keeps every segment but the last full, whatever the write sizes (%j)",
    (sizes) => {
      const bytes = build(sizes, BLOB_C.data);
      expect(bytes.size).toBe(BLOB_C.data.length);
      expect(bytes.segments.map((s) => s.length)).toEqual([...Array(5).fill(SEGMENT_SIZE), 3]);
      for (const position of [0, SEGMENT_SIZE - 1, SEGMENT_SIZE, 3 * SEGMENT_SIZE + 17, BLOB_C.data.length - 1]) {
        const found = segmentAt(bytes, position)!;
        expect(found.segment[found.offset]).toBe(BLOB_C.data[position]);
      }
      expect(segmentAt(bytes, BLOB_C.data.length)).toBeUndefined();
    },
  );

  it("keeps small blobs small: no 1 MiB segment for a few bytes", () => {
    const bytes = build([1], BLOB_C.data.subarray(0, 100));
    expect(bytes.segments).toHaveLength(1);
    expect(bytes.segments[0]!.buffer.byteLength).toBe(100);
  });

  it("copies what it is given", () => {
    const builder = new SegmentBuilder();
    const input = new Uint8Array([1, 2, 3]);
    builder.append(input);
    input.fill(9);
    expect([...builder.finish().segments[0]!]).toEqual([1, 2, 3]);
  });

  it("an empty blob has no segments", () => {
    expect(new SegmentBuilder().finish()).toEqual({ segments: [], size: 0 });
  });
});
