// A store that never reports chunk lists (chunks() is [] for every stored blob, core's default), as
// a backend that stores blobs whole, or an older server, does: castore's clients then read blobs as
// verified forward-only streams. The bytes live in a memory store, reachable for test hooks.

import type { B3Digest, BlobReader, BlobWriter } from "castore-core";
import { BaseBlobService } from "castore-core/backend";
import { MemoryBlobService } from "castore-memory";
import { corruptForTesting } from "castore-memory/testing";

export class OnePieceBlobService extends BaseBlobService {
  readonly inner = new MemoryBlobService();

  get blobCount(): number {
    return this.inner.blobCount;
  }

  corrupt(digest: B3Digest): boolean {
    return corruptForTesting(this.inner, digest);
  }

  protected hasImpl(digest: B3Digest, signal: AbortSignal | undefined): Promise<boolean> {
    return this.inner.has(digest, { signal });
  }

  protected openReadImpl(digest: B3Digest, signal: AbortSignal | undefined): Promise<BlobReader | undefined> {
    return this.inner.openRead(digest, { signal });
  }

  protected openWriteImpl(signal: AbortSignal | undefined): Promise<BlobWriter> {
    return this.inner.openWrite({ signal });
  }

  protected override closeImpl(): Promise<void> {
    return this.inner.close();
  }
}
