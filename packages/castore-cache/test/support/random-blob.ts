import { randomFillSync } from "node:crypto";
import type { B3Digest, BlobService } from "castore-core";

/**
 * Writes `size` random bytes (in 1 MiB pieces, so memory stays flat whatever the size) into
 * `store` and returns the digest. Random bytes give content-defined chunks of the average size.
 */
export async function putRandomBlob(store: BlobService, size: number): Promise<B3Digest> {
  const writer = await store.openWrite();
  const piece = new Uint8Array(1 << 20);
  for (let written = 0; written < size; written += piece.length) {
    const length = Math.min(piece.length, size - written);
    randomFillSync(piece, 0, length);
    await writer.write(piece.subarray(0, length));
  }
  return writer.close();
}

/** Reads `length` bytes at `offset` through a fresh reader. */
export async function readRange(store: BlobService, digest: B3Digest, offset: number, length: number) {
  const reader = await store.openRead(digest);
  if (!reader) throw new Error(`${digest} is absent`);
  try {
    await reader.seek(offset);
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const bytes = await reader.read({ maxBytes: length - filled });
      if (!bytes) break;
      out.set(bytes, filled);
      filled += bytes.length;
    }
    return out.subarray(0, filled);
  } finally {
    await reader.close();
  }
}

/** A small deterministic generator (mulberry32), so a failing run can be repeated. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
