// The portable BLAKE3: blake3-wasm's WebAssembly build, loaded from bytes the caller provides.
// Browsers (and any runtime without the `node` export condition) get it through hasher-browser.ts,
// with the module inlined; on Node it is the fallback when the native binding is missing.
import loadBlake3Wasm from "blake3-wasm/browser-async.js";
import type { Blake3Implementation } from "./blake3.js";

/** Where to load the .wasm from: a URL, a Response, a compiled module or raw bytes. */
export type WasmSource = Parameters<typeof loadBlake3Wasm>[0];

let cached: Promise<Blake3Implementation> | undefined;

/**
 * Loads the WebAssembly BLAKE3 once; later calls share it. Always pass the module: without one the
 * glue code fetches `<bundle name>_bg.wasm` next to the bundle, a file bundlers do not emit.
 */
export function loadWasmBlake3(source: WasmSource): Promise<Blake3Implementation> {
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
