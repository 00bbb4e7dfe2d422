import { copyBytes } from "../bytes.js";
import { ClosedError, InvalidArgumentError } from "../errors.js";
import { checkInteger } from "../integers.js";
import { type GearMask, type GearScanner, gearMask } from "./gear-scanner.js";
import { JsGearScanner } from "./gear-scanner-js.js";
import { WasmGearScanner, wasmGearScannerAvailable } from "./gear-scanner-wasm.js";
import { MASKS } from "./gear-table.js";

/** The chunk sizes of FastCDC 2020 (fastcdc-rs 3.1.0 `v2020`), in bytes. */
export interface FastCdcOptions {
  /** Smallest chunk (except the last): 64 to 1 MiB. An odd value acts as the even number below it, as in the crate. */
  minSize: number;
  /** Target average: 256 to 4 MiB, between minSize and maxSize. */
  avgSize: number;
  /** Largest chunk: 1 KiB to 16 MiB. */
  maxSize: number;
  /** Normalization level 0 to 3 (default 1, snix's): higher levels keep chunk sizes closer to avgSize. */
  normalization?: 0 | 1 | 2 | 3 | undefined;
  /** The gear-hash implementation (default: wasm where it compiles, JavaScript otherwise). Both cut identically. */
  implementation?: "wasm" | "js" | undefined;
}

/** snix castore's average chunk size: 256 KiB. */
export const DEFAULT_AVG_CHUNK_SIZE = 262144;

/** The averages `chunkSizesFor` accepts: avg/2 ≥ 64 … ≤ 1 MiB and 2·avg ≥ 1 KiB … ≤ 16 MiB, per the crate's bounds. */
export const MIN_AVG_CHUNK_SIZE = 512;
export const MAX_AVG_CHUNK_SIZE = 2_097_152;

/** snix's sizes for an average: min / avg / max = avg/2, avg, 2·avg (131072 / 262144 / 524288 by default). */
export function chunkSizesFor(avgSize: number = DEFAULT_AVG_CHUNK_SIZE): FastCdcOptions {
  checkInteger("average chunk size", avgSize, MIN_AVG_CHUNK_SIZE, MAX_AVG_CHUNK_SIZE);
  const options = { minSize: Math.floor(avgSize / 2), avgSize, maxSize: avgSize * 2 };
  validateFastCdcOptions(options);
  return options;
}

// The crate's bounds (it asserts them; castore refuses with InvalidArgument instead).
const MINIMUM_MIN = 64;
const MINIMUM_MAX = 1_048_576;
const AVERAGE_MIN = 256;
const AVERAGE_MAX = 4_194_304;
const MAXIMUM_MIN = 1024;
const MAXIMUM_MAX = 16_777_216;

/**
 * Throws an `InvalidArgument` error unless the sizes are within the crate's bounds and ordered
 * min ≤ avg ≤ max. (The crate accepts avg > max, but then cuts chunks longer than max, and its
 * StreamCDC panics on them; castore refuses the combination.)
 */
export function validateFastCdcOptions(options: FastCdcOptions): void {
  checkInteger("minSize", options.minSize, MINIMUM_MIN, MINIMUM_MAX);
  checkInteger("avgSize", options.avgSize, AVERAGE_MIN, AVERAGE_MAX);
  checkInteger("maxSize", options.maxSize, MAXIMUM_MIN, MAXIMUM_MAX);
  if (options.minSize > options.avgSize || options.avgSize > options.maxSize) {
    throw new InvalidArgumentError(
      `chunk sizes must satisfy min ≤ avg ≤ max, got ${options.minSize} / ${options.avgSize} / ${options.maxSize}`,
    );
  }
  const level = options.normalization ?? 1;
  if (level !== 0 && level !== 1 && level !== 2 && level !== 3) {
    throw new InvalidArgumentError(`normalization must be 0, 1, 2 or 3, got ${String(level)}`);
  }
  const implementation = options.implementation;
  if (implementation !== undefined && implementation !== "wasm" && implementation !== "js") {
    throw new InvalidArgumentError(`implementation must be "wasm" or "js", got ${String(implementation)}`);
  }
}

/** A cut point: the end of a chunk. */
export interface ChunkCut {
  /** Offset (from the start of the input) just past the chunk's last byte. */
  readonly end: number;
  /**
   * Bits 0 to 47 of the u64 gear hash fastcdc-rs reports for this chunk (0 when no byte was hashed).
   * All the masks test; exposed so the implementation can be checked against the crate's values.
   */
  readonly hash48: number;
}

/**
 * FastCDC 2020, streaming: feed the input in pieces of any size with `update`, end it with `finish`;
 * both return the cut points that became certain. The cut points are bit-identical to fastcdc-rs
 * 3.1.0 `v2020::FastCDC` over the whole input with the same sizes and normalization level.
 *
 * It holds no input: the first `minSize` bytes of a chunk are skipped unhashed (cut-point skipping),
 * the rest pass through the gear hash once. The only thing carried between pieces is the hash and, at
 * most, one byte (see `update`). Every chunk is at least 2·⌊minSize/2⌋ and at most maxSize bytes,
 * except the last, which may be shorter.
 *
 * The crate's loop, rewritten per byte: for a chunk starting at 0 and input left R, it hashes positions
 * q = 2·⌊min/2⌋ … 2·⌊min(R, max)/2⌋ − 1 with h = 2·h + GEAR[byte] from h = 0 (its two-bytes-a-step
 * loop with GEAR_LS computes 2·h at even q, tested against mask<<1: the same bits), uses the "small"
 * mask (harder to hit) while q < 2·⌊avg/2⌋ and the "large" one after, and cuts before the first byte
 * q whose hash matches; failing that, the chunk is min(R, max) bytes long.
 */
export class FastCdcChunker {
  readonly minSize: number;
  readonly avgSize: number;
  readonly maxSize: number;
  readonly normalization: 0 | 1 | 2 | 3;
  readonly #scanner: GearScanner;
  readonly #maskSmall: GearMask;
  readonly #maskLarge: GearMask;
  /** First position of a chunk that is hashed. */
  readonly #scanStart: number;
  /** Positions below this use the small mask. */
  readonly #smallEnd: number;
  /** Positions from here to maxSize are never hashed. */
  readonly #scanEnd: number;
  /** Offset of the current chunk's first byte. */
  #chunkStart = 0;
  /** Bytes consumed (the offset of the next byte). */
  #offset = 0;
  /**
   * A byte at an even position of the scan range that ended a piece. The crate hashes an even
   * position only when the byte after it exists, so it waits for the next piece (or is dropped
   * unhashed by `finish`, like the crate's last odd byte).
   */
  #held: Uint8Array | undefined;
  #finished = false;

  constructor(options: FastCdcOptions) {
    validateFastCdcOptions(options);
    this.minSize = options.minSize;
    this.avgSize = options.avgSize;
    this.maxSize = options.maxSize;
    this.normalization = options.normalization ?? 1;
    // The crate: bits = round(log2(avg)); small mask = MASKS[bits + level], large = MASKS[bits - level].
    const bits = Math.round(Math.log2(this.avgSize));
    this.#maskSmall = gearMask(MASKS[bits + this.normalization] as number);
    this.#maskLarge = gearMask(MASKS[bits - this.normalization] as number);
    this.#scanStart = evenFloor(this.minSize);
    this.#smallEnd = evenFloor(this.avgSize);
    this.#scanEnd = evenFloor(this.maxSize);
    const implementation = options.implementation ?? (wasmGearScannerAvailable() ? "wasm" : "js");
    this.#scanner = implementation === "wasm" ? new WasmGearScanner() : new JsGearScanner();
  }

  /** The gear-hash implementation in use. */
  get implementation(): "wasm" | "js" {
    return this.#scanner.implementation;
  }

  /** Bytes fed so far. */
  get bytesSeen(): number {
    return this.#offset + (this.#held ? 1 : 0);
  }

  /**
   * Feeds the next piece of input and returns the cuts it made certain, in order. The chunker does
   * not keep `bytes` after returning.
   */
  update(bytes: Uint8Array): ChunkCut[] {
    if (this.#finished) throw new ClosedError("the chunker has finished");
    const cuts: ChunkCut[] = [];
    if (bytes.length === 0) return cuts;
    const held = this.#held;
    if (held) {
      this.#held = undefined;
      this.#consume(held, cuts, true);
    }
    this.#consume(bytes, cuts, false);
    return cuts;
  }

  /** Ends the input: returns the last cut (none for empty input or when the input ended on a cut). */
  finish(): ChunkCut[] {
    if (this.#finished) throw new ClosedError("the chunker has finished");
    this.#finished = true;
    if (this.#held) {
      // The crate never hashes a last byte at an even position: it ends the chunk unhashed.
      this.#held = undefined;
      this.#offset += 1;
    }
    if (this.#offset === this.#chunkStart) return [];
    return [{ end: this.#offset, hash48: this.#scanner.low48() }];
  }

  /** Runs `bytes` through the state machine; `more` says a byte is known to follow them. */
  #consume(bytes: Uint8Array, cuts: ChunkCut[], more: boolean): void {
    const length = bytes.length;
    let index = 0;
    while (index < length) {
      const position = this.#offset - this.#chunkStart;
      if (position === this.maxSize) {
        this.#cut(cuts, this.#offset, this.#scanner.low48());
        continue;
      }
      if (position < this.#scanStart) {
        const skip = Math.min(this.#scanStart - position, length - index);
        index += skip;
        this.#offset += skip;
        continue;
      }
      if (position >= this.#scanEnd) {
        const skip = Math.min(this.maxSize - position, length - index);
        index += skip;
        this.#offset += skip;
        continue;
      }
      const small = position < this.#smallEnd;
      let stop = Math.min(length, index + ((small ? this.#smallEnd : this.#scanEnd) - position));
      // The last byte of a piece at an even position waits until a byte follows it.
      const holdLast = !more && stop === length && (position + (stop - 1 - index)) % 2 === 0;
      if (holdLast) stop -= 1;
      const hit = this.#scanner.scan(bytes, index, stop, small ? this.#maskSmall : this.#maskLarge);
      if (hit >= 0) {
        const cutPosition = position + (hit - index);
        const hash = this.#scanner.low48();
        // The crate's hash at an even position is 2·h (it rolls two bytes a step).
        this.#cut(cuts, this.#chunkStart + cutPosition, cutPosition % 2 === 0 ? (hash * 2) % 2 ** 48 : hash);
        index = hit; // the matching byte begins the next chunk
        continue;
      }
      this.#offset += stop - index;
      index = stop;
      if (holdLast) {
        this.#held = copyBytes(bytes, index, index + 1);
        return;
      }
    }
  }

  #cut(cuts: ChunkCut[], end: number, hash48: number): void {
    cuts.push({ end, hash48 });
    this.#chunkStart = end;
    this.#offset = end;
    this.#scanner.reset();
  }
}

function evenFloor(value: number): number {
  return value - (value % 2);
}
