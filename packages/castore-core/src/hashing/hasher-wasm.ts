// The portable BLAKE3: blake3-wasm's WebAssembly build. This module is what browsers (and any
// runtime without the `node` export condition) get for `#hasher`; on Node it is the fallback when
// the native binding is missing.
import loadBlake3Wasm from "blake3-wasm/browser-async.js";
import type { Blake3Implementation } from "./blake3.js";

/** Where to load the .wasm from: a URL, a Response, a compiled module or raw bytes. Default: next to the glue code. */
export type WasmSource = Parameters<typeof loadBlake3Wasm>[0];

let cached: Promise<Blake3Implementation> | undefined;

/** Loads the WebAssembly BLAKE3 once; later calls share it. */
export function loadWasmBlake3(source?: WasmSource): Promise<Blake3Implementation> {
  cached ??= loadBlake3Wasm(source).then((blake3) => ({
    name: "wasm",
    createHasher() {
      const hasher = blake3.createHash();
      return {
        update(data: Uint8Array) {
          hasher.update(data);
        },
        digest() {
          // digest() also frees the hasher's WebAssembly memory.
          const out = hasher.digest();
          return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
        },
        digestSoFar() {
          const out = hasher.digest({ dispose: false });
          return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
        },
        dispose() {
          hasher.dispose();
        },
      };
    },
  }));
  return cached as Promise<Blake3Implementation>;
}

/** The best BLAKE3 available on this runtime. */
export function loadBlake3(): Promise<Blake3Implementation> {
  return loadWasmBlake3();
}
