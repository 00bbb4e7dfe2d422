import { copyBytes } from "../bytes.js";
import type { B3Digest } from "../digest.js";
import { IntegrityError } from "../errors.js";
import { createBlake3Hasher } from "../hashing/hash.js";
import { checkInteger } from "../integers.js";
import { BaseBlobReader } from "./base-reader.js";
import { pieceIndexAt } from "./piece-index.js";

export interface BytesReaderOptions {
  /**
   * Verify the bytes against the reader's digest before handing out the first byte (one hashing
   * pass over the whole blob). Off only when the caller has just hashed these exact bytes itself.
   */
  verify?: boolean;
  /** Largest chunk a read returns when the caller sets no limit. Default 1 MiB. */
  chunkSize?: number;
}

/**
 * A fully seekable reader over a blob held in memory, as one array or as ordered segments (so a
 * store need not join a large blob into one allocation). With `verify` (the default) it checks the
 * whole blob against the digest on first read, so it never hands out a byte of a corrupted blob.
 * It hands out copies: a caller cannot change the stored bytes through a chunk.
 */
export class BytesReader extends BaseBlobReader {
  readonly size: number;
  readonly seekable = true;
  readonly #segments: readonly Uint8Array[];
  /** Offset in the blob of each segment's first byte. */
  readonly #starts: number[];
  readonly #chunkSize: number;
  #verification: Promise<void> | undefined;

  constructor(digest: B3Digest, bytes: Uint8Array | readonly Uint8Array[], options: BytesReaderOptions = {}) {
    super(digest);
    this.#chunkSize = checkInteger("chunkSize", options.chunkSize ?? 1 << 20);
    this.#segments = (bytes instanceof Uint8Array ? [bytes] : bytes).filter((segment) => segment.length > 0);
    this.#starts = [];
    let size = 0;
    for (const segment of this.#segments) {
      this.#starts.push(size);
      size += segment.length;
    }
    this.size = size;
    this.#verification = options.verify === false ? Promise.resolve() : undefined;
  }

  protected async readChunk(
    maxBytes: number,
    _signal: AbortSignal | undefined,
    into: Uint8Array | undefined,
  ): Promise<Uint8Array | undefined> {
    this.#verification ??= verifyBytes(this.#segments, this.digest);
    await this.#verification;
    const position = this.position;
    if (position >= this.size) return undefined;
    const index = pieceIndexAt(this.#starts, position);
    const segment = this.#segments[index] as Uint8Array;
    const offset = position - (this.#starts[index] as number);
    const length = Math.min(maxBytes, this.#chunkSize, segment.length - offset);
    if (!into) return copyBytes(segment, offset, offset + length);
    into.set(segment.subarray(offset, offset + length));
    return into.subarray(0, length);
  }

  protected async seekTo(): Promise<void> {}
}

/** Throws an `Integrity` error unless the bytes (one array or ordered segments) hash to `digest`. */
export async function verifyBytes(bytes: Uint8Array | readonly Uint8Array[], digest: B3Digest): Promise<void> {
  const hasher = await createBlake3Hasher();
  let size = 0;
  for (const segment of bytes instanceof Uint8Array ? [bytes] : bytes) {
    hasher.update(segment);
    size += segment.length;
  }
  if (!digest.equals(hasher.digest())) {
    throw new IntegrityError(`blob ${digest} is corrupt: its ${size} bytes do not hash to its digest`);
  }
}
