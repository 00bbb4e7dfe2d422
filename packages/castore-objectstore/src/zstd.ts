import * as zlib from "node:zlib";
import { BackendError, IntegrityError } from "castore-core";
import { concatBytes } from "castore-core/backend";

/**
 * zstd for chunk objects, from Node's own zlib (added in Node 22.15 / 23.8; no native addon, no
 * wasm to ship). snix compresses each chunk with the zstd crate's `encode_all` at the default level
 * (3): one frame, no content size in the header, no checksum. Any valid zstd stream decodes here;
 * what we write is one frame at level 3 as well.
 *
 * The synchronous calls are used on purpose: a chunk is at most 2 × avg_chunk_size (512 KiB by
 * default), about a millisecond of work, and Node's asynchronous zlib path cost two to three times
 * the CPU per byte here (thread-pool round trips per output buffer, then a concatenation), which on
 * a busy machine is throughput lost.
 */
type ZstdSync = (input: Uint8Array, options: object) => Buffer;
const nodeZlib = zlib as unknown as {
  zstdCompressSync?: ZstdSync;
  zstdDecompressSync?: ZstdSync;
  constants: Record<string, number>;
};

/** The zstd level snix writes (the zstd crate's default). */
export const ZSTD_LEVEL = 3;

function unavailable(): BackendError {
  return new BackendError(
    `castore-objectstore needs zstd from node:zlib (Node 22.15 or later); this is Node ${process.versions.node}`,
  );
}

/** zlib's output buffer for one call: big enough for the whole output, so it is produced in one piece. */
function bufferSizeFor(bytes: number): number {
  return Math.min(Math.max(bytes, 16 * 1024), 16 * 1024 * 1024);
}

/**
 * Compresses one chunk. Incompressible chunks (already compressed or encrypted data, the common case
 * for large blobs) are recognised from the byte statistics of three 4 KiB samples and stored in a
 * frame of raw blocks without running the compressor over them: zstd itself would spend about a
 * CPU-second per GiB to arrive at the same raw blocks. A wrong guess only costs compression ratio
 * for that chunk; the output is a valid zstd frame either way.
 *
 * `into`: a buffer of at least {@link rawFrameSize} bytes for the chunk, reused by the caller: a raw
 * frame is written there and returned as a view of it (allocating, zero-filling and collecting a
 * fresh half-MiB buffer per chunk cost more CPU than writing the frame). Compressed output is
 * always a buffer of its own.
 */
export function compressChunk(chunk: Uint8Array | readonly Uint8Array[], into?: Uint8Array): Uint8Array {
  if (!nodeZlib.zstdCompressSync) throw unavailable();
  const segments = chunk instanceof Uint8Array ? [chunk] : chunk;
  if (looksIncompressible(segments)) return rawFrame(segments, into);
  const whole = segments.length === 1 ? (segments[0] as Uint8Array) : concatBytes(segments);
  const level = nodeZlib.constants.ZSTD_c_compressionLevel as number;
  const bytes = nodeZlib.zstdCompressSync(whole, {
    params: { [level]: ZSTD_LEVEL },
    chunkSize: bufferSizeFor(whole.length + 1024),
  });
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const SAMPLE = 4096;
/**
 * Order-0 entropy, in bits per byte, above which a sample counts as incompressible: 7.9 leaves
 * entropy coding under about 1.5% to gain (random bytes measure about 7.98 over 12 KiB).
 */
const INCOMPRESSIBLE_BITS = 7.9;

/**
 * Whether the chunk looks incompressible, from the byte histogram of three 4 KiB samples (start,
 * middle, end). A histogram costs a tenth of what compressing the samples did (zstd set up a fresh
 * context per call, about 1 CPU-second per GiB in all); like those samples, it cannot see repeats
 * longer than a sample, so data made of repeated random blocks is stored raw.
 */
function looksIncompressible(segments: readonly Uint8Array[]): boolean {
  const length = segments.reduce((sum, segment) => sum + segment.length, 0);
  if (length < 8 * SAMPLE) return false; // small chunks: just compress them
  const counts = new Uint32Array(256);
  for (const start of [0, (length - SAMPLE) >> 1, length - SAMPLE]) {
    const sample = slice(segments, start, SAMPLE);
    for (const byte of sample) counts[byte] = (counts[byte] as number) + 1;
  }
  const total = 3 * SAMPLE;
  let bits = 0;
  for (const count of counts) if (count > 0) bits -= count * Math.log2(count / total);
  return bits / total > INCOMPRESSIBLE_BITS;
}

/** `length` bytes from offset `start` of the concatenated segments (a view when it fits in one). */
function slice(segments: readonly Uint8Array[], start: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let filled = 0;
  let offset = 0;
  for (const segment of segments) {
    const end = offset + segment.length;
    if (end > start + filled && filled < length) {
      const from = start + filled - offset;
      const take = Math.min(segment.length - from, length - filled);
      if (filled === 0 && take === length) return segment.subarray(from, from + take);
      out.set(segment.subarray(from, from + take), filled);
      filled += take;
    }
    offset = end;
  }
  return out;
}

/** RFC 8878 frame: magic, a header with no content size and no checksum, raw blocks of ≤ 128 KiB. */
const FRAME_HEADER = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58]); // window descriptor: 2 MiB
const RAW_BLOCK = 128 * 1024;

/** Bytes of the raw-block frame of `length` bytes of data: the buffer `compressChunk` needs. */
export function rawFrameSize(length: number): number {
  return FRAME_HEADER.length + Math.max(1, Math.ceil(length / RAW_BLOCK)) * 3 + length;
}

function rawFrame(segments: readonly Uint8Array[], into: Uint8Array | undefined): Uint8Array {
  const length = segments.reduce((sum, segment) => sum + segment.length, 0);
  const blocks = Math.max(1, Math.ceil(length / RAW_BLOCK));
  const size = rawFrameSize(length);
  const out = into && into.length >= size ? into.subarray(0, size) : new Uint8Array(size);
  out.set(FRAME_HEADER);
  let at = FRAME_HEADER.length;
  let segment = 0;
  let within = 0;
  for (let block = 0, offset = 0; block < blocks; block++, offset += RAW_BLOCK) {
    const size = Math.min(RAW_BLOCK, length - offset);
    const header = size * 8 + (block === blocks - 1 ? 1 : 0); // Block_Size << 3 | Raw_Block << 1 | Last_Block
    out[at++] = header & 0xff;
    out[at++] = (header >>> 8) & 0xff;
    out[at++] = (header >>> 16) & 0xff;
    // Copy the block's bytes straight from the segments.
    for (let left = size; left > 0; ) {
      const current = segments[segment] as Uint8Array;
      const take = Math.min(left, current.length - within);
      out.set(current.subarray(within, within + take), at);
      at += take;
      left -= take;
      within += take;
      if (within === current.length) {
        segment++;
        within = 0;
      }
    }
  }
  return out;
}

/**
 * Decompresses one chunk object, producing at most `maxSize` bytes: a stream that expands beyond
 * that (a zstd bomb, or a damaged object) is an `Integrity` error and never a huge allocation.
 * Anything that is not a valid zstd stream is an `Integrity` error too: the object was damaged.
 *
 * `inPlace`: the caller owns `compressed` and gives it up, so a frame of raw blocks is unpacked
 * inside it (the blocks moved together over their headers) and the result is a view of it. A
 * fresh half-MiB array per chunk, page faults and all, cost more CPU than anything else castore adds
 * to a read from S3. Without it, `compressed` is left as it was.
 */
export function decompressChunk(
  compressed: Uint8Array,
  maxSize: number,
  where: string,
  options: { inPlace?: boolean } = {},
): Uint8Array {
  const raw = rawFrameContent(compressed, maxSize, options.inPlace ?? false);
  if (raw) return raw;
  if (!nodeZlib.zstdDecompressSync) throw unavailable();
  let bytes: Buffer;
  try {
    bytes = nodeZlib.zstdDecompressSync(compressed, {
      maxOutputLength: Math.max(1, maxSize),
      chunkSize: bufferSizeFor(maxSize),
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ERR_BUFFER_TOO_LARGE" || error instanceof RangeError) {
      throw new IntegrityError(`${where} decompresses to more than ${maxSize} bytes`, { cause: error });
    }
    throw new IntegrityError(`${where} is not a valid zstd stream`, { cause: error });
  }
  // A plain Uint8Array view: readers hand out slices of it, and callers expect Uint8Arrays.
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The content of a frame of raw blocks only (what castore writes for incompressible chunks, and
 * zstd itself for them), copied out without zstd: a decompression context per chunk cost more CPU
 * than the copy. Undefined for anything else, which zstd then decodes (or rejects): a header with
 * a content size, dictionary or checksum, any compressed or RLE block, bytes after the last block,
 * or more than `maxSize` bytes of content. The whole frame is checked before a byte moves, so a
 * frame that is not all raw blocks is left intact for zstd even `inPlace`.
 */
function rawFrameContent(frame: Uint8Array, maxSize: number, inPlace: boolean): Uint8Array | undefined {
  if (frame.length < FRAME_HEADER.length + 3) return undefined;
  for (let i = 0; i < 4; i++) if (frame[i] !== FRAME_HEADER[i]) return undefined;
  // Frame header descriptor: no content size, not single-segment, no checksum, no dictionary.
  if (((frame[4] as number) & 0xef) !== 0) return undefined;
  let size = 0;
  let at = FRAME_HEADER.length; // magic, descriptor, window descriptor
  for (let last = false; !last; ) {
    if (at + 3 > frame.length) return undefined;
    const header = (frame[at] as number) | ((frame[at + 1] as number) << 8) | ((frame[at + 2] as number) << 16);
    last = (header & 1) === 1;
    const blockSize = header >>> 3;
    if (((header >>> 1) & 3) !== 0 || blockSize > RAW_BLOCK) return undefined; // not a raw block
    at += 3 + blockSize;
    size += blockSize;
    if (at > frame.length || size > maxSize) return undefined;
  }
  if (at !== frame.length) return undefined;
  // In place, each block moves to a lower offset than it came from, so moving them in order never
  // overwrites a byte still to be moved (copyWithin itself handles the overlap within a block).
  const out = inPlace ? frame.subarray(0, size) : new Uint8Array(size);
  let filled = 0;
  for (let block = FRAME_HEADER.length; block < frame.length; ) {
    const blockSize =
      ((frame[block] as number) | ((frame[block + 1] as number) << 8) | ((frame[block + 2] as number) << 16)) >>> 3;
    if (inPlace) frame.copyWithin(filled, block + 3, block + 3 + blockSize);
    else out.set(frame.subarray(block + 3, block + 3 + blockSize), filled);
    filled += blockSize;
    block += 3 + blockSize;
  }
  return out;
}
