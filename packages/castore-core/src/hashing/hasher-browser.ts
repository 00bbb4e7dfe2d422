// The `#hasher` of browsers and every runtime without the `node` export condition: blake3-wasm with
// its WebAssembly module inlined (src/gen/blake3-wasm-inline.ts, written by scripts/inline-wasm.mjs).
// blake3-wasm would otherwise fetch `<bundle name>_bg.wasm` from beside the bundle, which esbuild,
// vite and webpack do not emit: the first hash failed until the file was copied by hand. Inlined,
// the 34 KiB module costs ~46 KB of base64 in the bundle (~30 KB gzipped) and no request.
import { decodeBase64 } from "../base64.js";
import { BLAKE3_WASM_BASE64 } from "../gen/blake3-wasm-inline.js";
import type { Blake3Implementation } from "./blake3.js";
import { loadWasmBlake3 } from "./hasher-wasm.js";
import { hashHere, type StreamHasher } from "./stream-hasher.js";

/** The best BLAKE3 available on this runtime: the inlined WebAssembly module. */
export function loadBlake3(): Promise<Blake3Implementation> {
  return loadWasmBlake3(decodeBase64(BLAKE3_WASM_BASE64) as Uint8Array);
}

/** A StreamHasher: here, every byte hashed on the caller's thread. */
export async function createStreamHasher(): Promise<StreamHasher> {
  return hashHere((await loadBlake3()).createHasher());
}
