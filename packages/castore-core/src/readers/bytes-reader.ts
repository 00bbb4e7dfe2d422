import type { B3Digest } from "../digest.js";
import { IntegrityError } from "../errors.js";
import { createBlake3Hasher } from "../hashing/hash.js";
import { BaseBlobReader } from "./base-reader.js";

export interface BytesReaderOptions {
  /**
   * Verify `bytes` against the reader's digest before handing out the first byte (one hashing pass
   * over the whole blob). Off only when the caller has just hashed these exact bytes itself.
   */
  verify?: boolean;
  /** Largest chunk a read returns when the caller sets no limit. Default 1 MiB. */
  chunkSize?: number;
}

/**
 * A fully seekable reader over bytes held in memory. With `verify` (the default) it checks the
 * whole blob against the digest on first read, so it never hands out a byte of a corrupted blob.
 */
export class BytesReader extends BaseBlobReader {
  readonly size: number;
  readonly seekable = true;
  readonly #bytes: Uint8Array;
  readonly #chunkSize: number;
  #verification: Promise<void> | undefined;

  constructor(digest: B3Digest, bytes: Uint8Array, options: BytesReaderOptions = {}) {
    super(digest);
    this.#bytes = bytes;
    this.size = bytes.length;
    this.#chunkSize = options.chunkSize ?? 1 << 20;
    this.#verification = options.verify === false ? Promise.resolve() : undefined;
  }

  protected async readChunk(maxBytes: number): Promise<Uint8Array | undefined> {
    this.#verification ??= verifyBytes(this.#bytes, this.digest);
    await this.#verification;
    const start = this.position;
    if (start >= this.#bytes.length) return undefined;
    // A copy: handing out a view would let a caller change the stored blob.
    return this.#bytes.slice(start, start + Math.min(maxBytes, this.#chunkSize));
  }

  protected async seekTo(): Promise<void> {}
}

/** Throws an `Integrity` error unless `bytes` hash to `digest`. */
export async function verifyBytes(bytes: Uint8Array, digest: B3Digest): Promise<void> {
  const hasher = await createBlake3Hasher();
  hasher.update(bytes);
  const actual = hasher.digest();
  if (!digest.equals(actual)) {
    throw new IntegrityError(`blob ${digest} is corrupt: its ${bytes.length} bytes do not hash to its digest`);
  }
}
