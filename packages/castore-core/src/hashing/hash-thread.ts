import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { BackendError } from "../errors.js";
import { startSourceWorker } from "../source-worker.js";
import type { Blake3Implementation } from "./blake3.js";
import { type HashThreadReply, type HashThreadRequest, hashThreadWorker } from "./hash-thread-worker.js";
import { nativeBlake3Module } from "./hasher-node.js";
import { hashHere, type StreamHasher } from "./stream-hasher.js";

/**
 * How many bytes go to the hashing thread at once. Each trip costs the two threads some tens of
 * microseconds, which against 1 MiB (about 0.3 ms of hashing) is noise; a stream's bytes go in at
 * multiples of 1 MiB from its start, so the thread hashes whole aligned subtrees at full speed.
 */
const BUFFER_BYTES = 1 << 20;

/**
 * Buffers a thread has: one being filled while the others are hashed. They are moved between the
 * threads, not shared: V8 copies into shared memory a word at a time (measured, a quarter of a
 * second a GiB, half the cost of hashing), and into ordinary memory at memcpy's speed.
 */
const BUFFERS_PER_THREAD = 3;

/**
 * Hashing threads at most, each hashing one stream at a time. A stream only gains from a thread
 * while a core is free for it, so one core is left for the threads that move the bytes; with a
 * single core there are none, and every stream is hashed where it is read or written.
 */
const MAX_THREADS = Math.max(0, Math.min(2, availableParallelism() - 1));

/**
 * One hashing thread and its buffers, lent to one stream at a time. The thread itself starts when
 * a stream first fills a buffer: a stream shorter than that is hashed where it is, and starts none.
 */
class HashThread {
  readonly #blake3Module: string;
  readonly #onStop: (thread: HashThread, wasReady: boolean) => void;
  /** The thread, once started (see ready). */
  worker: Worker | undefined;
  /** Settles true once the thread has loaded the binding, false if it stopped (or failed to start) before. */
  #ready: Promise<boolean> | undefined;
  /** Its buffers that are here, not being hashed; and how many it has made (BUFFERS_PER_THREAD at most). */
  readonly free: Uint8Array[] = [];
  made = 0;
  /** The stream the thread is lent to, reached weakly (see ThreadStreamHasher). */
  lentTo: WeakRef<ThreadStreamHasher> | undefined;
  /**
   * The stream waiting on this thread, held strongly: a waiting stream must not be collected, for
   * a reply is what resumes whoever awaits it. Without this, a read awaiting a free buffer could
   * vanish with its caller.
   */
  waiter: ThreadStreamHasher | undefined;
  /** Set once the thread has stopped: what every stream still waiting on it gets. */
  stopped: Error | undefined;

  constructor(blake3Module: string, onStop: (thread: HashThread, wasReady: boolean) => void) {
    this.#blake3Module = blake3Module;
    this.#onStop = onStop;
  }

  /** Starts the thread if it has not started; settles once it is ready (true) or never will be (false). */
  ready(): Promise<boolean> {
    this.#ready ??= this.#start();
    return this.#ready;
  }

  #start(): Promise<boolean> {
    let worker: Worker;
    try {
      worker = startSourceWorker(hashThreadWorker, { blake3Module: this.#blake3Module });
    } catch (error) {
      this.stopped = new BackendError("the BLAKE3 hashing thread did not start", { cause: error });
      this.#onStop(this, false);
      return Promise.resolve(false);
    }
    this.worker = worker;
    let wasReady = false;
    let settleReady: (ready: boolean) => void = () => {};
    const ready = new Promise<boolean>((resolve) => {
      settleReady = resolve;
    });
    // Only a stream waiting on the thread keeps the process alive (see ThreadStreamHasher). It
    // starts while the stream that filled its first buffer waits for it to be ready, and that
    // wait's end unrefs it. Node takes back an unref() made before the thread is online (measured:
    // a process whose thread was never waited on did not exit), so one is made again then, should
    // the wait have ended first.
    worker.on("online", () => {
      if (!this.waiter) worker.unref();
    });
    worker.on("message", (reply: HashThreadReply) => {
      if ("ready" in reply) {
        wasReady = true;
        settleReady(true);
        return;
      }
      // A buffer comes back even from a stream since dropped: only now may another stream fill it.
      if ("buffer" in reply) this.free.push(new Uint8Array(reply.buffer));
      this.lentTo?.deref()?.received(reply);
    });
    const stop = (error: Error) => {
      if (this.stopped) return;
      this.stopped = new BackendError("the BLAKE3 hashing thread stopped", { cause: error });
      settleReady(false);
      this.#onStop(this, wasReady);
      this.lentTo?.deref()?.received(undefined);
      void worker.terminate();
    };
    worker.on("error", stop);
    worker.on("messageerror", stop);
    worker.on("exit", (code) => stop(new Error(`exited with code ${code}`)));
    return ready;
  }

  post(request: HashThreadRequest, transfer: ArrayBuffer[] = []): void {
    if (!this.stopped) this.worker?.postMessage(request, transfer);
  }

  /** A buffer to fill: a free one, a new one while the thread has fewer than its share, else none. */
  take(): Uint8Array | undefined {
    const buffer = this.free.pop();
    if (buffer || this.made >= BUFFERS_PER_THREAD) return buffer;
    this.made++;
    return new Uint8Array(BUFFER_BYTES);
  }
}

const threads: HashThread[] = [];
/** Set once a thread stopped before it was ready (no threads here, the binding not loading in one). */
let unusable = false;
let nextStreamId = 0;

/** A thread no stream holds, a new one if need be; undefined when all are lent or none can run. */
function freeThread(): HashThread | undefined {
  if (unusable) return undefined;
  const idle = threads.find((thread) => !thread.lentTo && !thread.stopped);
  if (idle || threads.length >= MAX_THREADS) return idle;
  const module = nativeBlake3Module();
  if (module === undefined) return undefined;
  const thread = new HashThread(module, (stopped, wasReady) => {
    threads.splice(threads.indexOf(stopped), 1);
    if (!wasReady) unusable = true;
  });
  threads.push(thread);
  return thread;
}

/** For tests of the threads (no entry point of the package exports it). */
export const hashThreadsForTests = {
  /** Stops every started hashing thread as a crash would. */
  async stop(): Promise<void> {
    await Promise.all(threads.map((thread) => thread.worker?.terminate()));
  },
  /** How many hashing threads have started and not stopped. */
  started: (): number => threads.filter((thread) => thread.worker && !thread.stopped).length,
};

/**
 * A StreamHasher for `implementation`: on a hashing thread when one is free, else here. A stream
 * holds its thread until its digest or dispose, or until it is garbage-collected unfinished.
 */
export function streamHasherFor(implementation: Blake3Implementation): StreamHasher {
  const thread = implementation.name === "native" ? freeThread() : undefined;
  if (!thread) return hashHere(implementation.createHasher());
  return new ThreadStreamHasher(thread, implementation);
}

/** A stream dropped without digest or dispose: its hasher on the thread is dropped, the thread given back. */
const unfinished = new FinalizationRegistry<{ thread: HashThread; id: number }>(({ thread, id }) => {
  thread.post({ op: "drop", id });
  if (thread.lentTo && !thread.lentTo.deref()) thread.lentTo = undefined;
});

/**
 * A stream hashed on a thread: its bytes are copied into the thread's buffers, each moved to the
 * thread once full and back once hashed. A stream that ends before its first buffer fills never
 * reaches the thread (nor starts it): it is hashed here, at its digest. Its first full buffer waits
 * for the thread to be ready; should the thread fail to start, the stream goes on here.
 */
class ThreadStreamHasher implements StreamHasher {
  readonly #id = nextStreamId++;
  readonly #implementation: Blake3Implementation;
  #thread: HashThread | undefined;
  /** Set once the stream hashes here after all (the thread did not start). */
  #here: StreamHasher | undefined;
  /** The buffer being filled, and how far. */
  #buffer: Uint8Array | undefined;
  #filled = 0;
  #sentAny = false;
  #digest: Uint8Array | undefined;
  /** Wakes whoever waits on the thread, once it next replies (or stops). */
  #wake: (() => void) | undefined;
  #done = false;

  readonly where = "thread";

  constructor(thread: HashThread, implementation: Blake3Implementation) {
    this.#thread = thread;
    this.#implementation = implementation;
    // Reached from the thread only weakly, so that a stream dropped unfinished can be collected.
    thread.lentTo = new WeakRef(this);
    unfinished.register(this, { thread, id: this.#id }, this);
  }

  update(data: Uint8Array): Promise<void> | undefined {
    // Disposed: ignored, as a read still in flight when its reader closes goes on updating.
    if (this.#done) return undefined;
    if (this.#here) return this.#here.update(data);
    const thread = this.#thread as HashThread;
    let offset = 0;
    while (offset < data.length) {
      if (!this.#buffer) {
        this.#buffer = thread.take();
        if (!this.#buffer) return this.#nextReply().then(() => this.update(data.subarray(offset)));
        this.#filled = 0;
      }
      const take = Math.min(BUFFER_BYTES - this.#filled, data.length - offset);
      this.#buffer.set(take === data.length ? data : data.subarray(offset, offset + take), this.#filled);
      this.#filled += take;
      offset += take;
      if (this.#filled === BUFFER_BYTES) {
        if (!this.#sentAny) return this.#sendFirst().then(() => this.update(data.subarray(offset)));
        this.#send();
      }
    }
    return undefined;
  }

  async digest(): Promise<Uint8Array> {
    if (this.#done) throw new BackendError("the hasher was already finished");
    if (this.#here) return this.#finish(await this.#here.digest());
    const thread = this.#thread as HashThread;
    if (!this.#sentAny) {
      // Shorter than a buffer: hashed here, the thread never involved.
      const hasher = this.#implementation.createHasher();
      if (this.#buffer) hasher.update(this.#buffer.subarray(0, this.#filled));
      return this.#finish(hasher.digest());
    }
    if (this.#filled > 0) this.#send();
    thread.post({ op: "digest", id: this.#id });
    try {
      while (!this.#digest) await this.#nextReply();
    } catch (error) {
      this.#finish(undefined);
      throw error;
    }
    return this.#finish(this.#digest);
  }

  dispose(): void {
    if (this.#done) return;
    if (this.#sentAny) this.#thread?.post({ op: "drop", id: this.#id });
    this.#here?.dispose();
    this.#finish(undefined);
  }

  /** What the thread replied while lent to this stream, or undefined when it stopped (the thread's call). */
  received(reply: HashThreadReply | undefined): void {
    if (reply && "digest" in reply && reply.id === this.#id) this.#digest = reply.digest;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Settles once the thread next replies; rejects if the thread has stopped. */
  async #nextReply(): Promise<void> {
    const thread = this.#thread as HashThread;
    if (thread.stopped) throw thread.stopped;
    await this.#waitOn(
      thread,
      new Promise<void>((resolve) => {
        this.#wake = resolve;
      }),
    );
    if (thread.stopped) throw thread.stopped;
  }

  /**
   * Waits for what only the thread can settle. Meanwhile the thread keeps the process alive (it
   * does only while a stream waits on it) and holds this stream (see HashThread.waiter).
   */
  async #waitOn<T>(thread: HashThread, settled: Promise<T>): Promise<T> {
    thread.worker?.ref();
    thread.waiter = this;
    try {
      return await settled;
    } finally {
      thread.waiter = undefined;
      thread.worker?.unref();
    }
  }

  /**
   * The first full buffer: to the thread once it is ready, or hashed here from now on if it will
   * never be (it stopped before it was ready, or before this stream sent it anything: nothing is lost).
   */
  async #sendFirst(): Promise<void> {
    const thread = this.#thread as HashThread;
    const ready = await this.#waitOn(thread, thread.ready());
    if (this.#done) return; // disposed meanwhile
    if (ready && !thread.stopped) {
      this.#sentAny = true;
      this.#send();
      return;
    }
    this.#here = hashHere(this.#implementation.createHasher());
    await this.#here.update((this.#buffer as Uint8Array).subarray(0, this.#filled));
    this.#release();
  }

  #send(): void {
    const buffer = (this.#buffer as Uint8Array).buffer as ArrayBuffer;
    (this.#thread as HashThread).post({ op: "update", id: this.#id, buffer, length: this.#filled }, [buffer]);
    this.#buffer = undefined;
    this.#filled = 0;
  }

  #finish<T>(result: T): T {
    this.#done = true;
    this.#release();
    // An update waiting for room (disposed under it) resumes and finds nothing more to do.
    this.received(undefined);
    return result;
  }

  /** Gives back the thread, and the buffer being filled (those still on the thread come back by themselves). */
  #release(): void {
    const thread = this.#thread;
    if (!thread) return;
    this.#thread = undefined;
    unfinished.unregister(this);
    if (this.#buffer) thread.free.push(this.#buffer);
    this.#buffer = undefined;
    if (thread.lentTo?.deref() === this) thread.lentTo = undefined;
  }
}
