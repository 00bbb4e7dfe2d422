import type { GearMask, GearScanner } from "./gear-scanner.js";
import { GEAR_HEX } from "./gear-table.js";

/*
 * A 144-byte WebAssembly module holding the gear loop with native 64-bit integers, assembled here
 * byte by byte (no build step, no .wasm file to locate). Memory layout, two 64 KiB pages:
 *   [0, 2048)        the gear table, 256 little-endian u64
 *   [2048, 2056)     the hash, a little-endian u64, read and written around each call
 *   [65536, 131072)  the window the caller copies input bytes into
 * Export `scan(start, end, maskLow32, maskHigh32) → index | -1` rolls h = (h << 1) + GEAR[byte]
 * over memory[start, end) and returns the first address after which (h & mask) == 0.
 */
const HASH_ADDRESS = 2048;
const WINDOW_ADDRESS = 65536;
const WINDOW_SIZE = 65536;

function leb128(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  do {
    let byte = rest & 0x7f;
    rest >>>= 7;
    if (rest !== 0) byte |= 0x80;
    out.push(byte);
  } while (rest !== 0);
  return out;
}

const vector = (items: number[][]): number[] => [...leb128(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...leb128(body.length), ...body];
const name = (text: string): number[] => [text.length, ...Array.from(text, (char) => char.charCodeAt(0))];

// Locals: 0 start, 1 end, 2 maskLow32, 3 maskHigh32 (params); 4 mask (i64), 5 hash (i64).
// biome-ignore format: one instruction a line
const SCAN_BODY = [
  0x01, 0x02, 0x7e,                   // two i64 locals
  0x20, 2, 0xad,                      // local.get maskLow32; i64.extend_i32_u
  0x20, 3, 0xad,                      // local.get maskHigh32; i64.extend_i32_u
  0x42, 32, 0x86,                     // i64.const 32; i64.shl
  0x84, 0x21, 4,                      // i64.or; local.set mask
  0x41, 0, 0x29, 3, 0x80, 0x10,       // i32.const 0; i64.load offset=2048
  0x21, 5,                            // local.set hash
  0x02, 0x40,                         // block
  0x03, 0x40,                         //   loop
  0x20, 0, 0x20, 1, 0x4f, 0x0d, 1,    //     br_if 1 (start >= end)
  0x20, 5, 0x42, 1, 0x86,             //     hash << 1
  0x20, 0, 0x2d, 0, 0,                //     i32.load8_u [start]
  0x41, 3, 0x74, 0x29, 3, 0,          //     i64.load [byte << 3] (the gear entry)
  0x7c, 0x22, 5,                      //     i64.add; local.tee hash
  0x20, 4, 0x83, 0x50,                //     (hash & mask) == 0
  0x04, 0x40,                         //     if
  0x41, 0, 0x20, 5, 0x37, 3, 0x80, 0x10, //     i64.store offset=2048 hash
  0x20, 0, 0x0f,                      //       return start
  0x0b,                               //     end
  0x20, 0, 0x41, 1, 0x6a, 0x21, 0,    //     start += 1
  0x0c, 0,                            //     br 0
  0x0b,                               //   end
  0x0b,                               // end
  0x41, 0, 0x20, 5, 0x37, 3, 0x80, 0x10, // i64.store offset=2048 hash
  0x41, 0x7f,                         // i32.const -1
  0x0b,                               // end
];

// biome-ignore format: one section a line
const MODULE_BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
  ...section(1, vector([[0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 1, 0x7f]])), // type (i32 ×4) → i32
  ...section(3, vector([[0]])), // one function of type 0
  ...section(5, vector([[0x00, 2]])), // one memory, at least 2 pages
  ...section(7, vector([[...name("memory"), 0x02, 0], [...name("scan"), 0x00, 0]])),
  ...section(10, vector([[...leb128(SCAN_BODY.length), ...SCAN_BODY]])),
]);

interface GearModule {
  scan(start: number, end: number, maskLow32: number, maskHigh32: number): number;
  bytes: Uint8Array;
  /** The hash as two 32-bit words (little-endian: low word first). */
  hashWords: Int32Array;
}

let loaded: GearModule | null | undefined;

/** The instantiated module, or null where this runtime refuses to compile wasm (a strict CSP, no WebAssembly). */
function loadGearModule(): GearModule | null {
  if (loaded !== undefined) return loaded;
  try {
    // Synchronous compilation is allowed for modules this small, also on a browser's main thread.
    const instance = new WebAssembly.Instance(new WebAssembly.Module(MODULE_BYTES));
    const memory = instance.exports.memory as WebAssembly.Memory;
    const table = new DataView(memory.buffer);
    for (let index = 0; index < 256; index++) {
      const hex = GEAR_HEX[index] as string;
      table.setUint32(index * 8, Number.parseInt(hex.slice(8), 16), true);
      table.setUint32(index * 8 + 4, Number.parseInt(hex.slice(0, 8), 16), true);
    }
    loaded = {
      scan: instance.exports.scan as GearModule["scan"],
      bytes: new Uint8Array(memory.buffer),
      hashWords: new Int32Array(memory.buffer, HASH_ADDRESS, 2),
    };
  } catch {
    loaded = null;
  }
  return loaded;
}

/** True when the wasm gear scanner can run here. */
export function wasmGearScannerAvailable(): boolean {
  return loadGearModule() !== null;
}

/**
 * The gear hash in wasm, exact in all 64 bits. One module instance serves every chunker: each scanner
 * keeps its own hash and swaps it in and out of the module's memory around a call (JavaScript runs
 * one call at a time, so calls never interleave). Input is copied into the window 64 KiB at a time.
 */
export class WasmGearScanner implements GearScanner {
  readonly implementation = "wasm";
  readonly #module: GearModule;
  #low = 0;
  #high = 0;

  constructor() {
    const module = loadGearModule();
    if (!module) throw new Error("WebAssembly is not available on this runtime");
    this.#module = module;
  }

  scan(bytes: Uint8Array, from: number, to: number, mask: GearMask): number {
    const module = this.#module;
    const words = module.hashWords;
    words[0] = this.#low;
    words[1] = this.#high;
    let found = -1;
    for (let start = from; start < to; start += WINDOW_SIZE) {
      const length = Math.min(WINDOW_SIZE, to - start);
      module.bytes.set(bytes.subarray(start, start + length), WINDOW_ADDRESS);
      const hit = module.scan(WINDOW_ADDRESS, WINDOW_ADDRESS + length, mask.low32, mask.high16);
      if (hit >= 0) {
        found = start + (hit - WINDOW_ADDRESS);
        break;
      }
    }
    this.#low = words[0] as number;
    this.#high = words[1] as number;
    return found;
  }

  reset(): void {
    this.#low = 0;
    this.#high = 0;
  }

  low48(): number {
    return (this.#high & 0xffff) * 2 ** 32 + (this.#low >>> 0);
  }
}
