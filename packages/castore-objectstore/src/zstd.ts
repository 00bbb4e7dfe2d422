import { promisify } from "node:util";
import * as zlib from "node:zlib";
import { BackendError, IntegrityError } from "castore-core";

/**
 * zstd for chunk objects, from Node's own zlib (added in Node 22.15 / 23.8; no native addon, no
 * wasm to ship). snix compresses each chunk with the zstd crate's `encode_all` at the default level
 * (3): one frame, no content size in the header, no checksum. Any valid zstd stream decodes here;
 * what we write is one frame at level 3 as well.
 */
type ZstdFunction = (
  input: Uint8Array,
  options: object,
  callback: (error: Error | null, result: Buffer) => void,
) => void;
const nodeZlib = zlib as unknown as {
  zstdCompress?: ZstdFunction;
  zstdDecompress?: ZstdFunction;
  constants: Record<string, number>;
};

const compressAsync = nodeZlib.zstdCompress ? promisify(nodeZlib.zstdCompress) : undefined;
const decompressAsync = nodeZlib.zstdDecompress ? promisify(nodeZlib.zstdDecompress) : undefined;

/** The zstd level snix writes (the zstd crate's default). */
export const ZSTD_LEVEL = 3;

function unavailable(): BackendError {
  return new BackendError(
    `castore-objectstore needs zstd from node:zlib (Node 22.15 or later); this is Node ${process.versions.node}`,
  );
}

/** Compresses one chunk. Runs on the libuv thread pool, off the event loop. */
export async function compressChunk(chunk: Uint8Array): Promise<Uint8Array> {
  if (!compressAsync) throw unavailable();
  const level = nodeZlib.constants.ZSTD_c_compressionLevel as number;
  return compressAsync(chunk, { params: { [level]: ZSTD_LEVEL } });
}

/**
 * Decompresses one chunk object, producing at most `maxSize` bytes: a stream that expands beyond
 * that (a zstd bomb, or a damaged object) is an `Integrity` error and never a huge allocation.
 * Anything that is not a valid zstd stream is an `Integrity` error too: the object was damaged.
 */
export async function decompressChunk(compressed: Uint8Array, maxSize: number, where: string): Promise<Uint8Array> {
  if (!decompressAsync) throw unavailable();
  try {
    const bytes = await decompressAsync(compressed, { maxOutputLength: Math.max(1, maxSize) });
    // A plain Uint8Array view: readers hand out slices of it, and callers expect Uint8Arrays.
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ERR_BUFFER_TOO_LARGE" || error instanceof RangeError) {
      throw new IntegrityError(`${where} decompresses to more than ${maxSize} bytes`, { cause: error });
    }
    throw new IntegrityError(`${where} is not a valid zstd stream`, { cause: error });
  }
}
