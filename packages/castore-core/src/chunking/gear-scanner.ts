/**
 * The inner loop of FastCDC: rolls the gear hash `h = 2·h + GEAR[byte]` over bytes and stops at the
 * first byte after which `h & mask` is zero. Two implementations compute the same bits: a wasm one
 * with native 64-bit integers (the fast path) and a JavaScript one with two 32-bit limbs (for
 * runtimes that refuse to compile wasm). Each scanner holds the hash state of one chunker.
 */
export interface GearScanner {
  /** Which implementation this is (reported by benchmarks and tests). */
  readonly implementation: "wasm" | "js";
  /**
   * Rolls the hash over `bytes[from, to)`. Returns the index of the first byte after which
   * `hash & mask` is 0 (the hash then includes that byte), or -1 when none does.
   */
  scan(bytes: Uint8Array, from: number, to: number, mask: GearMask): number;
  /** Sets the hash to 0 (the start of a chunk). */
  reset(): void;
  /** Bits 0 to 47 of the hash, as a number. */
  low48(): number;
}

/** A mask in the split forms the scanners test with (every FastCDC mask fits in 48 bits). */
export interface GearMask {
  /** The mask itself (< 2^48, exact as a number). */
  readonly value: number;
  /** Bits 0 to 31. */
  readonly low32: number;
  /** Bits 32 to 47. */
  readonly high16: number;
  /** Bits 0 to 15. */
  readonly low16: number;
  /** Bits 16 to 47, as a signed 32-bit integer. */
  readonly middle32: number;
}

export function gearMask(value: number): GearMask {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** 48) throw new RangeError(`not a 48-bit mask: ${value}`);
  return {
    value,
    low32: (value % 2 ** 32) | 0,
    high16: Math.floor(value / 2 ** 32),
    low16: value % 2 ** 16,
    middle32: Math.floor(value / 2 ** 16) | 0,
  };
}
