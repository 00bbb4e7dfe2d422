import { describe, expect, it } from "vitest";
import { BaseBlobWriter } from "../src/backend.js";
import { type B3Digest, digestOf, isAborted, isBackend, isClosed } from "../src/index.js";

/** A writer over an in-test store that records what the base class asks of it. */
class RecordingWriter extends BaseBlobWriter {
  readonly chunks: Uint8Array[] = [];
  readonly committed: { digest: B3Digest; size: number }[] = [];
  discarded = 0;
  failCommit = false;
  /** Called after each chunk is stored, with the number stored so far: tests act at exact points. */
  afterChunk: (count: number) => void = () => {};

  protected async writeChunk(chunk: Uint8Array): Promise<void> {
    await Promise.resolve(); // a store that takes its time (asynchronously) over each chunk
    this.chunks.push(chunk.slice());
    this.afterChunk(this.chunks.length);
  }
  protected async commit(digest: B3Digest, size: number): Promise<void> {
    if (this.failCommit) throw new Error("disk full");
    this.committed.push({ digest, size });
  }
  protected discard(): void {
    this.discarded++;
  }
}

const hello = new TextEncoder().encode("Hello World!");

describe("BaseBlobWriter", () => {
  it("hashes what it is given in any shape and commits once", async () => {
    const writer = new RecordingWriter();
    await writer.write(hello.subarray(0, 1));
    await writer.write([hello.subarray(1, 5), hello.subarray(5, 6)]);
    await writer.write(
      (async function* () {
        yield hello.subarray(6);
      })(),
    );
    expect(writer.bytesWritten).toBe(12);
    const digest = await writer.close();
    expect(digest.equals(await digestOf(hello))).toBe(true);
    expect(writer.committed).toHaveLength(1);
    expect(writer.committed[0]!.size).toBe(12);
  });

  it("returns the same digest on a second close and refuses writes after close", async () => {
    const writer = new RecordingWriter();
    await writer.write(hello);
    const first = await writer.close();
    expect((await writer.close()).equals(first)).toBe(true);
    expect(writer.committed).toHaveLength(1);
    await expect(writer.write(hello)).rejects.toSatisfy(isClosed);
    await expect(writer.write(hello)).rejects.toThrow(/already closed/);
  });

  it("an empty writer closes to the digest of no bytes", async () => {
    const writer = new RecordingWriter();
    expect((await writer.close()).equals(await digestOf(new Uint8Array(0)))).toBe(true);
  });

  it("fails every later close after a failed close, and discards", async () => {
    const writer = new RecordingWriter();
    writer.failCommit = true;
    await writer.write(hello);
    await expect(writer.close()).rejects.toSatisfy(isBackend);
    await expect(writer.close()).rejects.toThrow(/previously closed with error/);
    await expect(writer.write(hello)).rejects.toSatisfy(isClosed);
    expect(writer.discarded).toBe(1);
    expect(writer.committed).toHaveLength(0);
  });

  it("abort discards and stores nothing; later calls fail", async () => {
    const writer = new RecordingWriter();
    await writer.write(hello);
    await writer.abort();
    await writer.abort();
    expect(writer.discarded).toBe(1);
    await expect(writer.close()).rejects.toSatisfy(isClosed);
    await expect(writer.write(hello)).rejects.toSatisfy(isAborted);
    expect(writer.committed).toHaveLength(0);
  });

  it("disposing an unclosed writer aborts it; disposing a closed one keeps the blob", async () => {
    const open = new RecordingWriter();
    await open.write(hello);
    await open[Symbol.asyncDispose]();
    expect(open.discarded).toBe(1);
    const closed = new RecordingWriter();
    await closed.write(hello);
    await closed.close();
    await closed[Symbol.asyncDispose]();
    expect(closed.discarded).toBe(0);
    expect(closed.committed).toHaveLength(1);
  });

  it("keeps the order of overlapping writes", async () => {
    const writer = new RecordingWriter();
    await Promise.all([writer.write(hello.subarray(0, 6)), writer.write(hello.subarray(6))]);
    expect((await writer.close()).equals(await digestOf(hello))).toBe(true);
  });

  it("an aborted signal mid-write aborts the writer: nothing stored", async () => {
    const writer = new RecordingWriter();
    const controller = new AbortController();
    writer.afterChunk = (count) => count === 3 && controller.abort();
    const pieces = (async function* () {
      for (let i = 0; i < 100; i++) yield hello;
    })();
    const writing = writer.write(pieces, { signal: controller.signal });
    await expect(writing).rejects.toSatisfy(isAborted);
    expect(writer.chunks).toHaveLength(3);
    await expect(writer.close()).rejects.toThrow(/previously closed with error/);
    expect(writer.discarded).toBe(1);
    expect(writer.committed).toHaveLength(0);
  });

  it("an already-aborted signal rejects write and close with Aborted", async () => {
    const signal = AbortSignal.abort();
    await expect(new RecordingWriter().write(hello, { signal })).rejects.toSatisfy(isAborted);
    await expect(new RecordingWriter().close({ signal })).rejects.toSatisfy(isAborted);
  });

  it("abort during a slow write stops it at the next chunk", async () => {
    const writer = new RecordingWriter();
    let aborting: Promise<void> | undefined;
    writer.afterChunk = (count) => {
      if (count === 3) aborting = writer.abort();
    };
    const writing = writer.write(Array.from({ length: 50 }, () => hello));
    await expect(writing).rejects.toSatisfy(isAborted);
    await aborting;
    expect(writer.chunks).toHaveLength(3);
    expect(writer.committed).toHaveLength(0);
  });

  it("an abort ends a write whose source has stalled, and tells the source", async () => {
    const writer = new RecordingWriter();
    const controller = new AbortController();
    let returned = false;
    const stalled: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => {
        let sent = false;
        return {
          next: () => {
            if (sent) {
              controller.abort(); // the source has stalled: the write waits on it
              return new Promise<IteratorResult<Uint8Array>>(() => {});
            }
            sent = true;
            return Promise.resolve({ done: false, value: hello });
          },
          return: async () => {
            returned = true;
            return { done: true, value: undefined };
          },
        };
      },
    };
    const writing = writer.write(stalled, { signal: controller.signal });
    await expect(writing).rejects.toSatisfy(isAborted);
    expect(returned).toBe(true);
    expect(writer.committed).toHaveLength(0);
    expect(writer.discarded).toBe(1);
  });

  it("rejects input that is not bytes without storing anything", async () => {
    const writer = new RecordingWriter();
    await expect(writer.write(["text" as unknown as Uint8Array])).rejects.toMatchObject({ code: "InvalidArgument" });
    expect(writer.committed).toHaveLength(0);
  });
});

describe("abort() racing a close that is already committing", () => {
  it("never discards a blob the close committed", async () => {
    let finishCommit: () => void = () => {};
    let commitStarted: () => void = () => {};
    const committing = new Promise<void>((resolve) => (commitStarted = resolve));
    class SlowCommitWriter extends RecordingWriter {
      protected override async commit(digest: B3Digest, size: number): Promise<void> {
        commitStarted();
        await new Promise<void>((resolve) => (finishCommit = resolve));
        await super.commit(digest, size);
      }
    }
    const writer = new SlowCommitWriter();
    await writer.write(hello);
    const closing = writer.close();
    await committing;
    const aborting = writer.abort();
    finishCommit();
    const digest = await closing;
    await aborting;
    expect(digest.equals(await digestOf(hello))).toBe(true);
    expect(writer.committed).toHaveLength(1);
    expect(writer.discarded).toBe(0);
  });
});
