import { closeSync, openSync, read, readSync } from "node:fs";
import { open } from "node:fs/promises";
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { isDetached } from "./bytes.js";
import { InvalidArgumentError } from "./errors.js";
import {
  type ChunkReadReply,
  type ChunkReadRequest,
  type ChunkReadWorkerData,
  chunkReadWorker,
} from "./file-chunk-worker.js";
import { nativeBlake3Module } from "./hashing/hasher-node.js";
import { DigestedBytes } from "./readers/digested-bytes.js";
import { startSourceWorker } from "./source-worker.js";

/**
 * Ranges shorter than this are read and left to be hashed on the calling thread: a trip to a worker
 * thread and back costs each side about 25 µs, and more under load (each thread must be scheduled
 * in turn), where hashing 64 KiB takes about 13. A store of small chunks read through threads ran
 * slower, not faster, on a busy machine.
 */
const WORKER_MIN_BYTES = 64 * 1024;

/** Worker threads at most: past the cores there is nothing to gain, and past four little to gain. */
const MAX_WORKERS = Math.max(1, Math.min(4, availableParallelism()));

/** The memory of buffers from `movableChunkBuffer`, and of what came back from a thread in their place. */
const movable = new WeakSet<ArrayBuffer>();

/**
 * A buffer `readFileChunk` can fill from a worker thread by moving its memory there and back: the
 * buffer passed in is detached, and the result holds the same memory in a new ArrayBuffer (which
 * can be moved again). Lend these to a ChunkedReader's `openChunk` (its `chunkBuffers` option),
 * which takes the memory back as its buffer and only ever copies bytes out of it. Ordinary memory:
 * V8 copies out of it at 41–47 GB/s here, out of shared memory at 7.5–14.5 (a word at a time).
 */
export function movableChunkBuffer(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  movable.add(bytes.buffer);
  return bytes;
}

/**
 * A buffer `readFileChunk` can fill from a worker thread: memory shared between threads, which
 * stays where it is (a result is a view of it). Copying out of shared memory is slower than out of
 * the memory `movableChunkBuffer` gives, which is the better choice for a ChunkedReader.
 */
export function sharedChunkBuffer(size: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(size));
}

/**
 * Reads `into.length` bytes of the file at `path` from `offset` into `into` (fewer if the file ends
 * first); undefined when the file does not exist. Other failures reject with the file system's
 * error (its `code`, `errno`, `syscall` and `path` kept).
 *
 * For `into` of 64 KiB or more from `movableChunkBuffer` or `sharedChunkBuffer`, with native BLAKE3
 * at hand, a worker thread reads the bytes and hashes them, and the result carries that digest: a
 * ChunkedReader then compares it instead of hashing the chunk on its own thread, so reading,
 * hashing and the reader's consumer run side by side on the machine's cores. A movable `into` is
 * detached once the read starts: the result is a view of the same memory, moved back in a new
 * ArrayBuffer, at the same offset (or, where its thread failed, of fresh memory). A file missing or
 * failing to read keeps the memory: `into` stays detached, and a read into it again is refused
 * (InvalidArgument); lend another buffer.
 *
 * Measured here, a verified read of 1 GiB from packs went from about 2 GB/s (read in the thread
 * pool, hashed on the main thread) to 2.2–2.4 GB/s in a fresh process and 3.0–3.4 once warm, with
 * two threads and shared buffers; with movable ones, 2.54–2.73 in a fresh process against 2.40–2.54.
 * A shorter range is read synchronously on the calling thread; other memory (or where threads
 * cannot run) is read in libuv's thread pool. Either way the result is then a view of `into` (never
 * moved), for the caller to hash. A thread reads one chunk at a time, so a read stuck in the file
 * system holds up the reads queued behind it on that thread.
 *
 * Settles only once nothing writes into `into` any more (a read cannot be cancelled half-way), as
 * `chunkBuffers` requires.
 */
export async function readFileChunk(
  path: string,
  offset: number,
  into: Uint8Array,
): Promise<DigestedBytes | Uint8Array | undefined> {
  if (isDetached(into)) {
    throw new InvalidArgumentError(
      "readFileChunk: `into` has no memory left (an earlier read moved it to a worker thread, which kept it)",
    );
  }
  if (into.length < WORKER_MIN_BYTES) return readHere(path, offset, into);
  if (into.buffer instanceof SharedArrayBuffer || movable.has(into.buffer)) {
    const pool = workerPool();
    if (pool) return pool.read(path, offset, into);
  }
  return readInThreadPool(path, offset, into);
}

/** A short range, read synchronously on this thread (as SQLite reads its pages from the page cache). */
function readHere(path: string, offset: number, into: Uint8Array): Uint8Array | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    let got = 0;
    for (let last = -1; last !== 0 && got < into.length; got += last) {
      last = readSync(fd, into, got, into.length - got, offset + got);
    }
    return into.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** The fallback: a read in libuv's thread pool, hashed later by whoever checks it. */
async function readInThreadPool(path: string, offset: number, into: Uint8Array): Promise<Uint8Array | undefined> {
  let file: Awaited<ReturnType<typeof open>>;
  try {
    file = await open(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    let got = 0;
    for (let last = -1; last !== 0 && got < into.length; got += last) {
      last = await new Promise<number>((resolve, reject) =>
        read(file.fd, into, got, into.length - got, offset + got, (error, bytesRead) =>
          error ? reject(error) : resolve(bytesRead),
        ),
      );
    }
    return into.subarray(0, got);
  } finally {
    await file.close();
  }
}

interface PendingRead {
  readonly path: string;
  readonly offset: number;
  /** Detached while its memory is with the thread (see movableChunkBuffer). */
  readonly into: Uint8Array;
  /** Where `into` lay in its memory, and how long it was (kept: a detached view reports 0). */
  readonly start: number;
  readonly length: number;
  resolve(result: DigestedBytes | Uint8Array | undefined): void;
  reject(error: unknown): void;
}

/** One worker thread and the reads it owes. */
interface PoolWorker {
  readonly worker: Worker;
  readonly pending: Map<number, PendingRead>;
  /** Whether it has answered a read: a thread that fails before that may never work here. */
  answered: boolean;
}

/**
 * The chunk-reading threads, started as reads need them (up to MAX_WORKERS). A thread holds the
 * process open only while it owes a read. Reads never fail because of the threads: the reads a
 * failed thread owed are read again in libuv's thread pool once it has stopped (it writes into
 * their buffers no more), and a pool whose thread failed before answering anything (no threads
 * allowed, the binding not loading in one) reads in the thread pool from then on.
 */
export class ChunkReadPool {
  readonly #workerData: ChunkReadWorkerData;
  readonly #workers: PoolWorker[] = [];
  #nextId = 0;
  /** Set once threads proved unusable here: every read goes to the thread pool. */
  #unusable = false;

  /** @param blake3Module the module path of the native BLAKE3 binding the threads load */
  constructor(blake3Module: string) {
    this.#workerData = { blake3Module };
  }

  /**
   * Reads into `into`, shared memory or a movable buffer (see movableChunkBuffer): the memory of
   * the latter goes to the thread and comes back in the result.
   */
  read(path: string, offset: number, into: Uint8Array): Promise<DigestedBytes | Uint8Array | undefined> {
    const target = this.#unusable ? undefined : this.#leastBusy();
    if (!target) return readInThreadPool(path, offset, into);
    const id = this.#nextId++;
    const { buffer, byteOffset: start, length } = into;
    const request: ChunkReadRequest = { id, path, offset, buffer, start, length };
    return new Promise((resolve, reject) => {
      if (target.pending.size === 0) target.worker.ref();
      target.pending.set(id, { path, offset, into, start, length, resolve, reject });
      if (buffer instanceof SharedArrayBuffer) target.worker.postMessage(request);
      else target.worker.postMessage(request, [buffer]);
    });
  }

  /** An idle thread, a new one while the pool has room, else the one owing the fewest reads. */
  #leastBusy(): PoolWorker | undefined {
    let best: PoolWorker | undefined;
    for (const candidate of this.#workers) {
      if (!best || candidate.pending.size < best.pending.size) best = candidate;
    }
    if (best && (best.pending.size === 0 || this.#workers.length >= MAX_WORKERS)) return best;
    return this.#start() ?? best;
  }

  /** A new thread, or undefined where none can be started (then the pool stops trying). */
  #start(): PoolWorker | undefined {
    let worker: Worker;
    try {
      worker = startSourceWorker(chunkReadWorker, this.#workerData);
    } catch {
      this.#unusable = true;
      return undefined;
    }
    const entry: PoolWorker = { worker, pending: new Map(), answered: false };
    worker.unref();
    worker.on("message", (reply: ChunkReadReply) => this.#settle(entry, reply));
    // A failure stops the thread; its reads are read again once it has exited.
    const fail = () => {
      if (this.#workers.includes(entry)) void worker.terminate();
    };
    worker.on("error", fail);
    worker.on("messageerror", fail);
    worker.on("exit", () => this.#exited(entry));
    this.#workers.push(entry);
    return entry;
  }

  #settle(entry: PoolWorker, reply: ChunkReadReply): void {
    const pending = entry.pending.get(reply.id);
    if (!pending) return;
    entry.answered = true;
    entry.pending.delete(reply.id);
    if (entry.pending.size === 0) entry.worker.unref();
    if ("error" in reply) {
      pending.reject(Object.assign(new Error(reply.error.message), reply.error.fields));
    } else if ("missing" in reply) {
      pending.resolve(undefined);
    } else if (reply.buffer) {
      // The memory of a movable buffer, back from the thread: movable again.
      movable.add(reply.buffer);
      pending.resolve(new DigestedBytes(new Uint8Array(reply.buffer, pending.start, reply.bytesRead), reply.digest));
    } else {
      pending.resolve(new DigestedBytes(pending.into.subarray(0, reply.bytesRead), reply.digest));
    }
  }

  /**
   * A thread stopped (failed, or ended): it leaves the pool, and what it owed is read again, into
   * fresh memory where the thread had taken the buffer's (it went with the thread).
   */
  #exited(entry: PoolWorker): void {
    const index = this.#workers.indexOf(entry);
    if (index >= 0) this.#workers.splice(index, 1);
    if (!entry.answered) this.#unusable = true;
    for (const pending of entry.pending.values()) {
      const into = isDetached(pending.into) ? new Uint8Array(pending.length) : pending.into;
      readInThreadPool(pending.path, pending.offset, into).then(pending.resolve, pending.reject);
    }
    entry.pending.clear();
  }
}

let pool: ChunkReadPool | null | undefined;

/** The pool, or null where the native BLAKE3 binding does not load (the threads hash with it). */
function workerPool(): ChunkReadPool | null {
  if (pool === undefined) {
    const module = nativeBlake3Module();
    pool = module === undefined ? null : new ChunkReadPool(module);
  }
  return pool;
}
