import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isInvalidArgument } from "../src/errors.js";
import { readFilePieces } from "../src/file-pieces.js";

const dir = mkdtempSync(join(tmpdir(), "castore-file-pieces-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fileOf(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

describe("readFilePieces", () => {
  it("yields a file's bytes in order, in pieces no larger than a buffer", async () => {
    const bytes = randomBytes(10_000 + 37);
    await using handle = await open(fileOf("whole", bytes), "r");
    const copies: Buffer[] = [];
    for await (const piece of readFilePieces(handle, { bufferBytes: 1000 })) {
      expect(piece.length).toBeLessThanOrEqual(1000);
      copies.push(Buffer.from(piece));
    }
    expect(Buffer.concat(copies).equals(bytes)).toBe(true);
  });

  it("starts at the handle's current position", async () => {
    const bytes = randomBytes(5000);
    await using handle = await open(fileOf("tail", bytes), "r");
    await handle.read(Buffer.alloc(1234), 0, 1234, null);
    const copies: Buffer[] = [];
    for await (const piece of readFilePieces(handle, { bufferBytes: 999 })) copies.push(Buffer.from(piece));
    expect(Buffer.concat(copies).equals(bytes.subarray(1234))).toBe(true);
  });

  it("reads into two buffers in turn: no allocation per piece, and never into the piece handed out", async () => {
    await using handle = await open(fileOf("turns", randomBytes(4096)), "r");
    const memory: ArrayBufferLike[] = [];
    for await (const piece of readFilePieces(handle, { bufferBytes: 1024 })) memory.push(piece.buffer);
    expect(memory).toHaveLength(4);
    expect(memory[2]).toBe(memory[0]);
    expect(memory[3]).toBe(memory[1]);
    expect(memory[1]).not.toBe(memory[0]);
  });

  it("yields nothing for an empty file", async () => {
    await using handle = await open(fileOf("empty", new Uint8Array(0)), "r");
    const pieces: Uint8Array[] = [];
    for await (const piece of readFilePieces(handle)) pieces.push(piece);
    expect(pieces).toEqual([]);
  });

  it("waits for the read ahead when the consumer stops early, so the handle closes cleanly", async () => {
    await using handle = await open(fileOf("early", randomBytes(8192)), "r");
    for await (const piece of readFilePieces(handle, { bufferBytes: 1024 })) {
      expect(piece.length).toBe(1024);
      break;
    }
    // The read ahead advanced the position by one more piece, and nothing else is pending.
    const { bytesRead } = await handle.read(Buffer.alloc(10_000), 0, 10_000, null);
    expect(bytesRead).toBe(8192 - 2048);
  });

  it("refuses a buffer size that is not an integer from 1 byte to 1 GiB, before reading", async () => {
    await using handle = await open(fileOf("refused", randomBytes(10)), "r");
    for (const bufferBytes of [0, -1, 1.5, Number.NaN, 2 ** 30 + 1]) {
      const error = await readFilePieces(handle, { bufferBytes })
        .next()
        .catch((caught: unknown) => caught);
      expect(isInvalidArgument(error)).toBe(true);
    }
    const { bytesRead } = await handle.read(Buffer.alloc(20), 0, 20, null);
    expect(bytesRead).toBe(10);
  });
});
