import type { GearMask, GearScanner } from "./gear-scanner.js";
import { GEAR_HEX } from "./gear-table.js";

/** Bits 0 to 15 of each gear entry. */
const GEAR_LOW16 = new Int32Array(256);
/** Bits 16 to 47 of each gear entry, as signed 32-bit integers. */
const GEAR_MIDDLE32 = new Int32Array(256);
for (let index = 0; index < 256; index++) {
  const hex = GEAR_HEX[index] as string;
  GEAR_LOW16[index] = Number.parseInt(hex.slice(12), 16);
  GEAR_MIDDLE32[index] = Number.parseInt(hex.slice(4, 12), 16) | 0;
}

/**
 * The gear hash in plain JavaScript, exact for bits 0 to 47 (all a mask can test). `h = 2·h + g` only
 * moves carries upwards, so bits 0 to 47 of the result depend only on bits 0 to 47 of `h` and `g`:
 * they are kept in two limbs, bits 0 to 15 (`low`) and bits 16 to 47 (`middle`, wrapping at 32 bits),
 * and the carry out of `low` is added into `middle` on every byte. Bits 48 and up are never needed.
 */
export class JsGearScanner implements GearScanner {
  readonly implementation = "js";
  #low = 0;
  #middle = 0;

  scan(bytes: Uint8Array, from: number, to: number, mask: GearMask): number {
    const maskLow = mask.low16;
    const maskMiddle = mask.middle32;
    let low = this.#low;
    let middle = this.#middle;
    for (let index = from; index < to; index++) {
      const byte = bytes[index] as number;
      low = (low << 1) + (GEAR_LOW16[byte] as number);
      middle = ((middle << 1) + (GEAR_MIDDLE32[byte] as number) + (low >>> 16)) | 0;
      low &= 0xffff;
      if (((low & maskLow) | (middle & maskMiddle)) === 0) {
        this.#low = low;
        this.#middle = middle;
        return index;
      }
    }
    this.#low = low;
    this.#middle = middle;
    return -1;
  }

  reset(): void {
    this.#low = 0;
    this.#middle = 0;
  }

  low48(): number {
    return (this.#middle >>> 0) * 2 ** 16 + this.#low;
  }
}
