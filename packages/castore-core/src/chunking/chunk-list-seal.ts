import { B3Digest } from "../digest.js";
import type { Blake3Hasher, Blake3Implementation } from "../hashing/blake3.js";
import { checkInteger } from "../integers.js";

/**
 * Names what is hashed, so a seal can never equal the digest of some blob's bytes. Changing the
 * layout below means a new name.
 */
const DOMAIN = new TextEncoder().encode("castore chunk list seal v1\n");

/**
 * A seal over a chunked blob's chunk list, for a store that writes the list once and reads it
 * back many times: the BLAKE3 digest of every chunk's digest and length in order, then the blob's
 * digest and length. A writer computes it as it cuts the chunks (`add`), and `seal` binds it to the
 * blob the write proved; the store keeps it beside the list. A reader that recomputes it from the
 * list it read back (`sealOf`) and finds it equal knows the list is the one the write proved to hash
 * to the blob, chunks, order, lengths and all, without hashing the blob's bytes a second time.
 *
 * It guards against damage (a flipped bit, a lost or misplaced row), not against someone who can
 * rewrite the store: anyone who can change the list can compute a new seal too. A list from a peer
 * is proven by hashing the whole blob instead (see ChunkedReader).
 */
export class ChunkListSealer {
  readonly #hasher: Blake3Hasher;
  /** Reused for each length: 8 bytes, little-endian. */
  readonly #length = new Uint8Array(8);
  readonly #lengthView = new DataView(this.#length.buffer);

  constructor(implementation: Blake3Implementation) {
    this.#hasher = implementation.createHasher();
    this.#hasher.update(DOMAIN);
  }

  /** The next chunk of the list. */
  add(digest: B3Digest | Uint8Array, size: number): void {
    this.#hasher.update(B3Digest.from(digest).unsafeBytes);
    this.#addLength(checkInteger("chunk size", size, 1));
  }

  /** The seal of the list added so far, bound to the blob; the sealer is done after this. */
  seal(blob: B3Digest, blobSize: number): Uint8Array {
    this.#hasher.update(blob.unsafeBytes);
    this.#addLength(checkInteger("blob size", blobSize, 0));
    return this.#hasher.digest();
  }

  /** Frees the hasher of a list that will not be sealed. */
  dispose(): void {
    this.#hasher.dispose();
  }

  #addLength(length: number): void {
    this.#lengthView.setBigUint64(0, BigInt(length), true);
    this.#hasher.update(this.#length);
  }
}

/** The seal of a whole chunk list (see ChunkListSealer). */
export function sealOf(
  implementation: Blake3Implementation,
  chunks: Iterable<{ readonly digest: B3Digest | Uint8Array; readonly size: number }>,
  blob: B3Digest,
  blobSize: number,
): Uint8Array {
  const sealer = new ChunkListSealer(implementation);
  for (const chunk of chunks) sealer.add(chunk.digest, chunk.size);
  return sealer.seal(blob, blobSize);
}
