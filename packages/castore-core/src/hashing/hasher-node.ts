// The Node implementation of `#hasher`: the native `@napi-rs/blake-hash` binding (an optional
// dependency with prebuilt binaries) when it loads, else blake3-wasm with its .wasm read from disk.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Blake3Implementation } from "./blake3.js";
import { streamHasherFor } from "./hash-thread.js";
import { loadWasmBlake3 } from "./hasher-wasm.js";
import { stagedHasher } from "./staged-hasher.js";
import type { StreamHasher } from "./stream-hasher.js";

const require = createRequire(import.meta.url);

/** The binding's hasher, as this file and the hashing threads use it. */
export interface NativeHasher {
  update(input: Uint8Array): NativeHasher;
  digestBuffer(): Uint8Array;
}

/** The native binding, or undefined when it is not installed or has no binary for this platform. */
export function loadNativeBlake3(): Blake3Implementation | undefined {
  let Native: new () => NativeHasher;
  try {
    Native = (require("@napi-rs/blake-hash") as { Blake3Hasher: new () => NativeHasher }).Blake3Hasher;
  } catch {
    return undefined;
  }
  return {
    name: "native",
    createHasher() {
      const hasher = new Native();
      // Staged: pieces as they come off a socket would otherwise hash at a quarter to a third of the speed.
      return stagedHasher({
        update(data: Uint8Array) {
          hasher.update(data);
        },
        digest() {
          const out = hasher.digestBuffer();
          return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
        },
        // The binding's digest never consumes the hasher.
        digestSoFar() {
          const out = hasher.digestBuffer();
          return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
        },
        dispose() {},
      });
    },
  };
}

/** blake3-wasm on Node: the same glue code browsers run, with the module bytes read from the package. */
export function loadNodeWasmBlake3(): Promise<Blake3Implementation> {
  const path = require.resolve("blake3-wasm/dist/wasm/web/blake3_js_bg.wasm");
  return loadWasmBlake3(readFileSync(path));
}

let nativeModule: string | null | undefined;

/**
 * The module path of the native binding, for worker threads to load (they hash with it), or
 * undefined where it does not load here.
 */
export function nativeBlake3Module(): string | undefined {
  if (nativeModule === undefined) {
    try {
      nativeModule = loadNativeBlake3() ? require.resolve("@napi-rs/blake-hash") : null;
    } catch {
      nativeModule = null;
    }
  }
  return nativeModule ?? undefined;
}

/** A StreamHasher: on a hashing thread when one is free (see hash-thread.ts), else on this thread. */
export async function createStreamHasher(): Promise<StreamHasher> {
  return streamHasherFor(await loadBlake3());
}

let best: Promise<Blake3Implementation> | undefined;

/** The best BLAKE3 available on this runtime: native when it loads, else WebAssembly. */
export function loadBlake3(): Promise<Blake3Implementation> {
  best ??= Promise.resolve(loadNativeBlake3() ?? loadNodeWasmBlake3());
  return best;
}
