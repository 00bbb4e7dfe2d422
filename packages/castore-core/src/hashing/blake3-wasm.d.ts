// Our own declaration of the one blake3-wasm entry we use. Its published typings reference Node's
// types (Buffer), which would leak into castore-core's browser build; tsconfig "paths" points here.
interface Blake3WasmHash {
  update(data: Uint8Array): void;
  /** With `dispose: false` the hash stays usable (and must still be disposed). */
  digest(options?: { dispose?: boolean }): Uint8Array;
  dispose(): void;
}

/** Loads the WebAssembly module (from next to the glue code when `source` is omitted). */
export default function load(
  source?: string | URL | Response | WebAssembly.Module | ArrayBufferView | ArrayBuffer,
): Promise<{ createHash(): Blake3WasmHash }>;
