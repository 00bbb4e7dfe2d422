// OutputSink: what `castore cat` writes its blob through.
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { OutputSink } from "../src/output.js";

/** A stream that finishes each write (and copies what it got) only when the test drains it: a slow pipe. */
function slowStream() {
  const finished: Buffer[] = [];
  const pending: (() => void)[] = [];
  const stream = new Writable({
    // Takes writes in without pushing back: the sink goes on while earlier writes wait in the stream.
    highWaterMark: 64 << 20,
    write(chunk: Buffer, _encoding, callback) {
      pending.push(() => {
        finished.push(Buffer.from(chunk));
        callback();
      });
    },
  });
  const drain = () => {
    for (let next = pending.shift(); next; next = pending.shift()) next();
  };
  return { stream, finished, drain };
}

const piece = (index: number, length = 16 * 1024) => new Uint8Array(length).fill(index % 251);

describe("OutputSink", () => {
  it("gathers short pieces into 1 MiB batches, in order, and writes the rest at flush", async () => {
    const writes: number[] = [];
    const received: Buffer[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        writes.push(chunk.length);
        received.push(Buffer.from(chunk));
        callback();
      },
    });
    const sink = new OutputSink(stream, { gather: true });
    const pieces = Array.from({ length: 100 }, (_, i) => piece(i));
    for (const p of pieces) await sink.write(p);
    // 64 pieces of 16 KiB fill one batch; the other 36 wait for flush.
    expect(writes).toEqual([1 << 20]);
    await sink.flush();
    expect(writes.filter((length) => length > 0)).toEqual([1 << 20, 36 * 16 * 1024]);
    expect(Buffer.concat(received).equals(Buffer.concat(pieces))).toBe(true);
    sink.release();
  });

  it("writes a long piece as it is, after the short ones gathered before it", async () => {
    const received: Buffer[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        received.push(Buffer.from(chunk));
        callback();
      },
    });
    const sink = new OutputSink(stream, { gather: true });
    const long = piece(7, 256 * 1024);
    await sink.write(piece(1));
    await sink.write(long);
    await sink.write(piece(2));
    await sink.flush();
    expect(received.filter((chunk) => chunk.length > 0).map((chunk) => chunk.length)).toEqual([
      16 * 1024,
      256 * 1024,
      16 * 1024,
    ]);
    expect(Buffer.concat(received).equals(Buffer.concat([piece(1), long, piece(2)]))).toBe(true);
    sink.release();
  });

  it("never reuses a batch a slow stream still holds", async () => {
    const slow = slowStream();
    const sink = new OutputSink(slow.stream, { gather: true });
    const pieces = Array.from({ length: 64 * 5 }, (_, i) => piece(i));
    let done = false;
    const writing = (async () => {
      for (const p of pieces) await sink.write(p);
      await sink.flush();
      done = true;
    })();
    // The stream finishes its writes only when drained here: batches wait in it meanwhile.
    while (!done) {
      await new Promise((resolve) => setImmediate(resolve));
      slow.drain();
    }
    await writing;
    // Five batches, each reused only after the stream was done with it: every byte as written.
    expect(slow.finished.filter((chunk) => chunk.length > 0)).toHaveLength(5);
    expect(Buffer.concat(slow.finished).equals(Buffer.concat(pieces))).toBe(true);
    sink.release();
  });

  it("without gather, writes each piece at once", async () => {
    const writes: number[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        writes.push(chunk.length);
        callback();
      },
    });
    const sink = new OutputSink(stream);
    await sink.write(piece(1, 10));
    expect(writes).toEqual([10]);
    sink.release();
  });
});
