// Objects as snix castore writes them, built here from the format's rules without castore's own
// encoder or compressor, so golden tests compare against an independent construction.
import { readFileSync } from "node:fs";

/** A ChunkMeta / StatBlobResponse in protobuf wire bytes, written out by hand (prost's field order). */
export function statBlobResponseBytes(chunks: readonly { digest: Uint8Array; size: number }[]): Uint8Array {
  const out: number[] = [];
  for (const chunk of chunks) {
    const meta = [0x0a, 32, ...chunk.digest, 0x10, ...varint(chunk.size)]; // digest = 1, size = 2
    out.push(0x12, ...varint(meta.length), ...meta); // StatBlobResponse.chunks = 2
  }
  return Uint8Array.from(out);
}

function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return bytes;
}

/**
 * A zstd frame as the zstd crate's streaming `encode_all` frames incompressible data: no content
 * size, no checksum, raw blocks of at most 128 KiB (RFC 8878 §3.1.1).
 */
export function zstdRawFrame(data: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58])]; // magic, FHD, window 4 MiB… enough for raw blocks ≤ 128 KiB
  const blockMax = 128 * 1024;
  let offset = 0;
  do {
    const size = Math.min(blockMax, data.length - offset);
    const last = offset + size >= data.length ? 1 : 0;
    const header = (size << 3) | (0 << 1) | last; // Block_Type 0 = Raw_Block
    parts.push(
      Uint8Array.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff]),
      data.subarray(offset, offset + size),
    );
    offset += size;
  } while (offset < data.length);
  return Buffer.concat(parts);
}

/** "Hello World" as snix writes its chunk: `zstd -3 --no-check` of the bytes from a stream (libzstd 1.5). */
export const HELLO_WORLD_CHUNK_OBJECT = Buffer.from("28b52ffd005859000048656c6c6f20576f726c64", "hex");

/** The 8 MiB golden blob: its generator and the chunks snix cuts it into. */
export interface GoldenChunks {
  input_b3: string;
  avg: number;
  chunks: { offset: number; length: number; b3: string }[];
}

export const SNIX_8MIB: GoldenChunks = JSON.parse(
  readFileSync(new URL("../fixtures/snix-8mib-chunks.json", import.meta.url), "utf8"),
);

/** The 8 MiB input of {@link SNIX_8MIB}: xorshift32 from 0x12345678, low byte of each state. */
export function snixGoldenInput(): Uint8Array {
  const out = new Uint8Array(8 * 1024 * 1024);
  let x = 0x12345678;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
