import { type B3Digest, BaseBlobService, type BlobReader, type BlobWriter, BytesReader } from "castore-core";
import { MemoryBlobWriter } from "./memory-writer.js";
import { SEGMENT_SIZE, type SegmentedBytes, segmentAt } from "./segments.js";

/**
 * A BlobService that keeps blobs in a Map in this process: for tests, caches and short-lived tools.
 * Blobs are immutable once stored; readers are fully seekable and verify the blob on first read.
 * Everything is lost when the service is closed or the process exits.
 */
export class MemoryBlobService extends BaseBlobService {
  /** Blob bytes by digest text. Never handed out directly: readers copy what they return. */
  readonly #blobs = new Map<string, SegmentedBytes>();

  /** Number of blobs stored. */
  get blobCount(): number {
    return this.#blobs.size;
  }

  protected async hasImpl(digest: B3Digest): Promise<boolean> {
    return this.#blobs.has(digest.toString());
  }

  protected async openReadImpl(digest: B3Digest): Promise<BlobReader | undefined> {
    const bytes = this.#blobs.get(digest.toString());
    // Core's reader over the segments: verifies the whole blob before the first byte (and keeps
    // failing after a mismatch), hands out copies, and never returns more than one segment's worth.
    return bytes && new BytesReader(digest, bytes.segments, { chunkSize: SEGMENT_SIZE });
  }

  protected async openWriteImpl(): Promise<BlobWriter> {
    return new MemoryBlobWriter((digest, bytes) => {
      const key = digest.toString();
      if (!this.#blobs.has(key)) this.#blobs.set(key, bytes);
    });
  }

  protected override closeImpl(): void {
    this.#blobs.clear();
  }

  /**
   * FOR TESTS ONLY: flips one byte of a stored blob in place, so tests can check that readers
   * detect corruption. Returns false when the blob is absent or empty (nothing to flip).
   */
  corruptForTesting(digest: B3Digest, offset?: number): boolean {
    const bytes = this.#blobs.get(digest.toString());
    const found = bytes && segmentAt(bytes, offset ?? Math.floor(bytes.size / 2));
    if (!found) return false;
    found.segment[found.offset] = (found.segment[found.offset] as number) ^ 0xff;
    return true;
  }
}
