import { type B3Digest, BaseBlobReader, createBlake3Hasher, IntegrityError } from "castore-core";
import { type SegmentedBytes, segmentAt } from "./segments.js";

/**
 * A fully seekable reader over a stored blob. Like core's BytesReader it verifies the whole blob
 * against its digest before handing out the first byte (so a corrupted blob never yields a byte),
 * and it returns copies (so callers cannot change the store).
 */
export class MemoryBlobReader extends BaseBlobReader {
  readonly size: number;
  readonly seekable = true;
  readonly #bytes: SegmentedBytes;
  #verification: Promise<void> | undefined;

  constructor(digest: B3Digest, bytes: SegmentedBytes) {
    super(digest);
    this.#bytes = bytes;
    this.size = bytes.size;
  }

  protected async readChunk(maxBytes: number): Promise<Uint8Array | undefined> {
    // Kept once settled: after a failed verification every read fails again.
    this.#verification ??= verify(this.#bytes, this.digest);
    await this.#verification;
    const found = segmentAt(this.#bytes, this.position);
    if (!found) return undefined;
    const { segment, offset } = found;
    return segment.slice(offset, offset + Math.min(maxBytes, segment.length - offset));
  }

  protected async seekTo(): Promise<void> {}
}

async function verify(bytes: SegmentedBytes, digest: B3Digest): Promise<void> {
  const hasher = await createBlake3Hasher();
  for (const segment of bytes.segments) hasher.update(segment);
  if (!digest.equals(hasher.digest())) {
    throw new IntegrityError(`blob ${digest} is corrupt: its ${bytes.size} bytes do not hash to its digest`);
  }
}
