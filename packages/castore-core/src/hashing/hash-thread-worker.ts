// The body of a hashing thread (see hash-thread.ts). The thread runs it from its source text, so it
// refers to nothing outside itself: what it needs comes through `require` and the worker data.
import type { NativeHasher } from "./hasher-node.js";

/**
 * What the main thread sends: the first `length` bytes of `buffer` (moved to this thread) are the
 * next bytes of stream `id`; the stream's end; or its abandonment.
 */
export type HashThreadRequest =
  | { readonly op: "update"; readonly id: number; readonly buffer: ArrayBuffer; readonly length: number }
  | { readonly op: "digest"; readonly id: number }
  | { readonly op: "drop"; readonly id: number };

/** The answers: the thread is ready, a buffer hashed (moved back), a stream's digest. */
export type HashThreadReply =
  | { readonly ready: true }
  | { readonly buffer: ArrayBuffer }
  | { readonly id: number; readonly digest: Uint8Array };

export interface HashThreadData {
  /** The module path of the native BLAKE3 binding (`@napi-rs/blake-hash`). */
  readonly blake3Module: string;
}

/**
 * Keeps one native hasher per stream and answers in order. It says it is ready only once the
 * binding has loaded here: until then the main thread has sent it no bytes, so a thread that cannot
 * load the binding costs nothing but the attempt.
 */
export function hashThreadWorker(require: NodeJS.Require, data: HashThreadData): void {
  const { parentPort } = require("node:worker_threads") as typeof import("node:worker_threads");
  const { Blake3Hasher } = require(data.blake3Module) as { Blake3Hasher: new () => NativeHasher };
  const hashers = new Map<number, NativeHasher>();
  parentPort?.on("message", (request: HashThreadRequest) => {
    switch (request.op) {
      case "update": {
        let hasher = hashers.get(request.id);
        if (!hasher) hashers.set(request.id, (hasher = new Blake3Hasher()));
        hasher.update(new Uint8Array(request.buffer, 0, request.length));
        parentPort.postMessage({ buffer: request.buffer } satisfies HashThreadReply, [request.buffer]);
        break;
      }
      case "digest": {
        const hasher = hashers.get(request.id) ?? new Blake3Hasher();
        hashers.delete(request.id);
        parentPort.postMessage({
          id: request.id,
          digest: Uint8Array.from(hasher.digestBuffer()),
        } satisfies HashThreadReply);
        break;
      }
      case "drop":
        hashers.delete(request.id);
        break;
    }
  });
  parentPort?.postMessage({ ready: true } satisfies HashThreadReply);
}
