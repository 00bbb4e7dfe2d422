import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BytesReader, ForwardSeeker, splitBytes, verifyStream } from "../src/backend.js";
import {
  type BlobReader,
  digestOf,
  isClosed,
  isIntegrity,
  isInvalidArgument,
  isUnsupported,
  readAll,
} from "../src/index.js";

/** Flips the low bit of one byte in place and returns the array. */
function flipByte(bytes: Uint8Array, index: number): Uint8Array {
  bytes[index] = (bytes[index] as number) ^ 1;
  return bytes;
}

const blob = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);

async function* streamOf(bytes: Uint8Array, pieceSizes: number[]) {
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = pieceSizes[i % pieceSizes.length] as number;
    yield bytes.slice(offset, offset + size);
    offset += size;
  }
}

async function rejectsWith(promise: Promise<unknown>, guard: (e: unknown) => boolean, message?: RegExp) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "expected a rejection").toBeDefined();
  expect(guard(error), `unexpected error ${String(error)}`).toBe(true);
  if (message) expect((error as Error).message).toMatch(message);
}

/** One step of the seek/read model: what a reader does versus slicing the array. */
type Step = { op: "read"; max: number } | { op: "seek"; origin: "start" | "current" | "end"; offset: number };

async function runModel(reader: BlobReader, data: Uint8Array, steps: Step[], forwardOnly: boolean) {
  let pos = 0;
  for (const step of steps) {
    if (step.op === "read") {
      const chunk = await reader.read({ maxBytes: step.max });
      const expected = data.subarray(pos, pos + step.max);
      if (expected.length === 0) expect(chunk).toBeUndefined();
      else {
        expect(chunk).toBeDefined();
        // a chunk may be shorter than asked, never longer, and always the right bytes
        expect(chunk!.length).toBeLessThanOrEqual(step.max);
        expect(chunk!.length).toBeGreaterThan(0);
        expect(Buffer.from(chunk!).equals(Buffer.from(data.subarray(pos, pos + chunk!.length)))).toBe(true);
        pos += chunk!.length;
      }
    } else {
      const base = step.origin === "start" ? 0 : step.origin === "current" ? pos : data.length;
      const target = base + step.offset;
      const promise = reader.seek(step.offset, step.origin);
      if (forwardOnly && step.origin === "end") {
        await rejectsWith(promise, isUnsupported);
      } else if (target < 0) {
        await rejectsWith(promise, isInvalidArgument);
      } else if (forwardOnly && target < pos) {
        await rejectsWith(promise, isUnsupported);
      } else {
        expect(await promise).toBe(target);
        pos = target;
      }
    }
    expect(reader.position).toBe(pos);
  }
  // whatever is left reads back exactly
  expect(Buffer.from(await readAll(reader)).equals(Buffer.from(data.subarray(pos)))).toBe(true);
}

const stepArb = (size: number) =>
  fc.oneof(
    fc.record({ op: fc.constant("read" as const), max: fc.integer({ min: 1, max: size + 10 }) }),
    fc.record({
      op: fc.constant("seek" as const),
      origin: fc.constantFrom("start" as const, "current" as const, "end" as const),
      offset: fc.integer({ min: -size - 5, max: size + 5 }),
    }),
  );

describe("BytesReader", () => {
  it("matches slicing under random reads and seeks (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 0, max: 3000 })
          .chain((size) => fc.tuple(fc.constant(size), fc.array(stepArb(size), { maxLength: 30 }))),
        fc.integer({ min: 1, max: 700 }),
        async ([size, steps], chunkSize) => {
          const data = blob(size);
          const reader = new BytesReader(await digestOf(data), data, { chunkSize });
          await runModel(reader, data, steps, false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses to hand out a single byte of a blob that does not match its digest", async () => {
    const data = blob(5000);
    const digest = await digestOf(data);
    const corrupt = data.slice();
    flipByte(corrupt, 4999);
    const reader = new BytesReader(digest, corrupt);
    await rejectsWith(reader.read({ maxBytes: 10 }), isIntegrity, /corrupt/);
    // the failure sticks: no later call pretends the blob is fine
    await rejectsWith(reader.seek(100), isIntegrity);
    await rejectsWith(reader.read(), isIntegrity);
  });

  it("hands out copies, so a caller cannot change the stored bytes", async () => {
    const data = blob(100);
    const reader = new BytesReader(await digestOf(data), data);
    const chunk = (await reader.read())!;
    chunk.fill(0);
    expect(data[1]).toBe(blob(100)[1]);
  });

  it("hands out copies of stored Node Buffers too (Buffer's slice is a view)", async () => {
    const data = Buffer.from(blob(100));
    const reader = new BytesReader(await digestOf(data), data);
    const chunk = (await reader.read())!;
    chunk.fill(0);
    expect(data[1]).toBe(blob(100)[1]);
  });

  it("fails reads after close with a Closed error and closes idempotently", async () => {
    const data = blob(10);
    const reader = new BytesReader(await digestOf(data), data);
    await reader.close();
    await reader.close();
    await rejectsWith(reader.read(), isClosed);
    await rejectsWith(reader.seek(0), isClosed);
  });

  it("validates arguments", async () => {
    const data = blob(10);
    const reader = new BytesReader(await digestOf(data), data);
    await rejectsWith(reader.seek(1.5), isInvalidArgument);
    await rejectsWith(reader.seek(0, "sideways" as "start"), isInvalidArgument);
    await rejectsWith(reader.read({ maxBytes: 0 }), isInvalidArgument);
    await rejectsWith(reader.seek(-1), isInvalidArgument, /before the start/);
  });
});

describe("ForwardSeeker", () => {
  it("matches slicing under random reads and forward seeks, refusing backward ones (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 0, max: 3000 })
          .chain((size) => fc.tuple(fc.constant(size), fc.array(stepArb(size), { maxLength: 30 }))),
        fc.array(fc.integer({ min: 1, max: 500 }), { minLength: 1, maxLength: 5 }),
        async ([size, steps], pieces) => {
          const data = blob(size);
          const reader = new ForwardSeeker(await digestOf(data), streamOf(data, pieces));
          await runModel(reader, data, steps, true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("runs the Rust original's seek sequence", async () => {
    const data = blob(1_044_480);
    const reader = new ForwardSeeker(await digestOf(data), streamOf(data, [65_536, 1000, 7]));
    const expectRead = async (at: number) => {
      const got = await readAll(
        (async function* () {
          let need = 10;
          while (need > 0) {
            const chunk = await reader.read({ maxBytes: need });
            if (!chunk) return;
            need -= chunk.length;
            yield chunk;
          }
        })(),
      );
      expect(Buffer.from(got).equals(Buffer.from(data.subarray(at, at + 10)))).toBe(true);
    };
    await expectRead(0);
    expect(await reader.seek(reader.position)).toBe(10);
    await expectRead(10);
    expect(await reader.seek(25)).toBe(25);
    await expectRead(25);
    expect(await reader.seek(12_345, "current")).toBe(35 + 12_345);
    await expectRead(35 + 12_345);
    expect(await reader.seek(data.length)).toBe(data.length);
    expect(await reader.read()).toBeUndefined();
    expect(await reader.seek(data.length + 1)).toBe(data.length + 1);
    expect(await reader.read()).toBeUndefined();
    await rejectsWith(reader.seek(0), isUnsupported, /backwards/);
    await rejectsWith(reader.seek(-1, "end"), isUnsupported, /from the end/);
  });

  it("cancels its source when closed early", async () => {
    let cancelled = 0;
    let returned = false;
    async function* endless() {
      try {
        for (;;) yield new Uint8Array(10);
      } finally {
        returned = true;
      }
    }
    const reader = new ForwardSeeker(await digestOf(new Uint8Array(0)), endless(), { onClose: () => void cancelled++ });
    await reader.read();
    await reader.close();
    await reader.close();
    expect(cancelled).toBe(1);
    expect(returned).toBe(true);
  });

  it("ends iteration early and closes the reader on break", async () => {
    const data = blob(1000);
    const reader = new ForwardSeeker(await digestOf(data), streamOf(data, [100]));
    for await (const _ of reader) break;
    await rejectsWith(reader.read(), isClosed);
  });

  it("honours an abort signal while waiting for the source", async () => {
    const never = { [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<Uint8Array>>(() => {}) }) };
    const reader = new ForwardSeeker(await digestOf(new Uint8Array(0)), never);
    const controller = new AbortController();
    const read = reader.read({ signal: controller.signal });
    controller.abort();
    await expect(read).rejects.toMatchObject({ code: "Aborted" });
  });
});

describe("verifyStream", () => {
  it("passes a matching stream through unchanged", async () => {
    const data = blob(70_000);
    const out = await readAll(verifyStream(streamOf(data, [999, 1]), await digestOf(data)));
    expect(Buffer.from(out).equals(Buffer.from(data))).toBe(true);
  });

  // 1000 bytes are hashed where they are read; 3 MiB on a thread, where a core is free for one.
  for (const size of [1000, 3 * (1 << 20) + 7]) {
    for (const [label, mutate] of [
      ["a flipped byte", (d: Uint8Array) => flipByte(d, 500)],
      ["a missing last byte", (d: Uint8Array) => d.subarray(0, -1)],
      ["an extra byte", (d: Uint8Array) => Buffer.concat([d, Uint8Array.of(0)])],
    ] as const) {
      it(`fails with Integrity instead of a clean end on ${label} (${size} bytes)`, async () => {
        const data = blob(size);
        const digest = await digestOf(data);
        const pieces = [300, 16_379];
        await rejectsWith(
          readAll(verifyStream(streamOf(mutate(data.slice()), pieces), digest)),
          isIntegrity,
          /corrupt/,
        );
        expect(Buffer.from(await readAll(verifyStream(streamOf(data, pieces), digest))).equals(data)).toBe(true);
      });
    }
  }

  it("verifies through a ForwardSeeker even when bytes are skipped", async () => {
    const data = blob(10_000);
    const digest = await digestOf(data);
    const corrupt = data.slice();
    flipByte(corrupt, 10); // a byte the reader skips over
    const reader = new ForwardSeeker(digest, verifyStream(splitBytesAsync(corrupt, 512), digest));
    await reader.seek(5000);
    await rejectsWith(readAll(reader), isIntegrity);
  });
});

async function* splitBytesAsync(bytes: Uint8Array, size: number) {
  yield* splitBytes(bytes, size);
}

describe("readers after a failure", () => {
  it("keep failing with Integrity instead of reporting a clean end", async () => {
    const data = blob(3000);
    const digest = await digestOf(data);
    const corrupt = flipByte(data.slice(), 2999);
    const reader = new ForwardSeeker(digest, verifyStream(splitBytesAsync(corrupt, 1000), digest));
    for (let i = 0; i < 3; i++) expect((await reader.read())?.length).toBe(1000);
    await rejectsWith(reader.read(), isIntegrity);
    await rejectsWith(reader.read(), isIntegrity);
    await rejectsWith(reader.seek(5000), isIntegrity);
  });

  it("lose no chunk when a read is cancelled while the source is still producing it", async () => {
    const data = blob(3000);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* slowFirstChunk() {
      await gate;
      yield* splitBytes(data, 1000);
    }
    const reader = new ForwardSeeker(await digestOf(data), slowFirstChunk());
    const controller = new AbortController();
    const cancelled = reader.read({ signal: controller.signal });
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ code: "Aborted" });
    release();
    expect(Buffer.from(await readAll(reader)).equals(Buffer.from(data))).toBe(true);
  });
});
