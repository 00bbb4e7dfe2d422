// A line-by-line port of fastcdc-rs 3.1.0 `src/v2020/mod.rs` (`cut` and the `FastCDC` iterator) with
// BigInt u64 arithmetic: slow and obviously faithful. The tests check it against the crate's own
// values (including its u64 hashes) and then check the fast chunker against it on random inputs.
import { GEAR_HEX, MASKS } from "../src/chunking/gear-table.js";

const U64 = (1n << 64n) - 1n;
const GEAR = GEAR_HEX.map((hex) => BigInt(`0x${hex}`));
const GEAR_LS = GEAR.map((value) => (value << 1n) & U64);

export interface ReferenceChunk {
  offset: number;
  length: number;
  hash: bigint;
}

function cut(
  source: Uint8Array,
  start: number,
  sourceLength: number,
  minSize: number,
  avgSize: number,
  maxSize: number,
  masks: { s: bigint; l: bigint; sLs: bigint; lLs: bigint },
): [bigint, number] {
  let remaining = sourceLength;
  if (remaining <= minSize) return [0n, remaining];
  let center = avgSize;
  if (remaining > maxSize) remaining = maxSize;
  else if (remaining < center) center = remaining;
  let index = Math.floor(minSize / 2);
  let hash = 0n;
  while (index < Math.floor(center / 2)) {
    const a = index * 2;
    hash = ((hash << 2n) + (GEAR_LS[source[start + a] as number] as bigint)) & U64;
    if ((hash & masks.sLs) === 0n) return [hash, a];
    hash = (hash + (GEAR[source[start + a + 1] as number] as bigint)) & U64;
    if ((hash & masks.s) === 0n) return [hash, a + 1];
    index += 1;
  }
  while (index < Math.floor(remaining / 2)) {
    const a = index * 2;
    hash = ((hash << 2n) + (GEAR_LS[source[start + a] as number] as bigint)) & U64;
    if ((hash & masks.lLs) === 0n) return [hash, a];
    hash = (hash + (GEAR[source[start + a + 1] as number] as bigint)) & U64;
    if ((hash & masks.l) === 0n) return [hash, a + 1];
    index += 1;
  }
  return [hash, remaining];
}

/** `v2020::FastCDC::with_level(source, min, avg, max, level).collect()`. */
export function referenceChunks(
  source: Uint8Array,
  minSize: number,
  avgSize: number,
  maxSize: number,
  level = 1,
): ReferenceChunk[] {
  const bits = Math.round(Math.log2(avgSize));
  const s = BigInt(MASKS[bits + level] as number);
  const l = BigInt(MASKS[bits - level] as number);
  const masks = { s, l, sLs: s << 1n, lLs: l << 1n };
  const chunks: ReferenceChunk[] = [];
  let processed = 0;
  let remaining = source.length;
  while (remaining > 0) {
    const [hash, count] = cut(source, processed, remaining, minSize, avgSize, maxSize, masks);
    if (count === 0) break;
    chunks.push({ offset: processed, length: count, hash });
    processed += count;
    remaining -= count;
  }
  return chunks;
}
