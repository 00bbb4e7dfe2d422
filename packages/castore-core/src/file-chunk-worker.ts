// The body of a chunk-reading worker thread (see file-chunk-reads.ts). The thread runs it from its
// source text, so it refers to nothing outside itself: what it needs comes through `require` and
// the worker data.

/**
 * What the main thread asks: `length` bytes of `path` from `offset`, into `buffer` from `start`.
 * `buffer` is shared memory, or memory moved here (an ArrayBuffer), which the answer moves back.
 */
export interface ChunkReadRequest {
  readonly id: number;
  readonly path: string;
  readonly offset: number;
  readonly buffer: SharedArrayBuffer | ArrayBuffer;
  readonly start: number;
  readonly length: number;
}

/**
 * The answer: the bytes read and their BLAKE3 digest (and the request's memory, if it was moved
 * here), the file missing, or the failure.
 */
export type ChunkReadReply =
  | { readonly id: number; readonly bytesRead: number; readonly digest: Uint8Array; readonly buffer?: ArrayBuffer }
  | { readonly id: number; readonly missing: true }
  | { readonly id: number; readonly error: { readonly message: string; readonly fields: ErrorFields } };

/** What a file system error carries besides its message. */
export interface ErrorFields {
  readonly code?: string | undefined;
  readonly errno?: number | undefined;
  readonly syscall?: string | undefined;
  readonly path?: string | undefined;
}

export interface ChunkReadWorkerData {
  /** The module path of the native BLAKE3 binding (`@napi-rs/blake-hash`). */
  readonly blake3Module: string;
}

/**
 * Answers requests one after another: opens the file, reads the bytes and hashes them, all
 * synchronously (this thread has nothing else to do), and closes the file before answering, so a
 * store whose readers are closed holds no file open (measured: opening and closing cost this thread
 * a few percent of its time).
 */
export function chunkReadWorker(require: NodeJS.Require, data: ChunkReadWorkerData): void {
  const { parentPort } = require("node:worker_threads") as typeof import("node:worker_threads");
  const fs = require("node:fs") as typeof import("node:fs");
  const { blake3 } = require(data.blake3Module) as { blake3(input: Uint8Array): Uint8Array };
  parentPort?.on("message", (request: ChunkReadRequest) => {
    let reply: ChunkReadReply;
    try {
      const fd = fs.openSync(request.path, "r");
      try {
        const into = new Uint8Array(request.buffer, request.start, request.length);
        let got = 0;
        for (let last = -1; last !== 0 && got < into.length; got += last) {
          last = fs.readSync(fd, into, got, into.length - got, request.offset + got);
        }
        const digest = blake3(into.subarray(0, got));
        reply =
          request.buffer instanceof SharedArrayBuffer
            ? { id: request.id, bytesRead: got, digest }
            : { id: request.id, bytesRead: got, digest, buffer: request.buffer };
      } finally {
        fs.closeSync(fd);
      }
    } catch (error) {
      const { code, errno, syscall, path, message } = error as NodeJS.ErrnoException;
      reply =
        code === "ENOENT"
          ? { id: request.id, missing: true }
          : { id: request.id, error: { message: String(message), fields: { code, errno, syscall, path } } };
    }
    // Moved memory goes back the way it came (an error's buffer is dropped: its reader lends another).
    parentPort?.postMessage(reply, "buffer" in reply && reply.buffer ? [reply.buffer] : []);
  });
}
