import { describe, expect, it } from "vitest";
import { BaseBlobService, BytesReader } from "../src/backend.js";
import { type B3Digest, type BlobReader, type BlobWriter, type ChunkMeta, digestOf } from "../src/index.js";

/** A backend that never chunks and knows one blob: it relies on the base's default `chunks()`. */
class OnePieceService extends BaseBlobService {
  constructor(readonly stored: B3Digest) {
    super();
  }
  protected async hasImpl(digest: B3Digest): Promise<boolean> {
    return digest.equals(this.stored);
  }
  protected async openReadImpl(digest: B3Digest): Promise<BlobReader | undefined> {
    return digest.equals(this.stored) ? new BytesReader(digest, new Uint8Array(0)) : undefined;
  }
  protected async openWriteImpl(): Promise<BlobWriter> {
    throw new Error("not used");
  }
}

/** A backend whose chunk list is malformed: the base refuses to pass it on. */
class BadListService extends OnePieceService {
  constructor(
    stored: B3Digest,
    readonly list: ChunkMeta[],
  ) {
    super(stored);
  }
  protected override async chunksImpl(): Promise<ChunkMeta[]> {
    return this.list;
  }
}

describe("BaseBlobService.chunks", () => {
  it("defaults to [] for a present blob and undefined for an absent one", async () => {
    const empty = await digestOf(new Uint8Array(0));
    const other = await digestOf(new Uint8Array(1));
    const service = new OnePieceService(empty);
    expect(await service.chunks(empty)).toEqual([]);
    expect(await service.chunks(other)).toBeUndefined();
    await expect(service.chunks("b3:short")).rejects.toMatchObject({ code: "InvalidDigest" });
    await service.close();
    await expect(service.chunks(empty)).rejects.toMatchObject({ code: "Closed" });
  });

  it("checks a backend's list before returning it", async () => {
    const digest = await digestOf(new Uint8Array(0));
    const zeroSized = new BadListService(digest, [{ digest, size: 0 }]);
    await expect(zeroSized.chunks(digest)).rejects.toMatchObject({ code: "InvalidArgument" });
    const shortDigest = new BadListService(digest, [{ digest: new Uint8Array(3) as unknown as B3Digest, size: 1 }]);
    await expect(shortDigest.chunks(digest)).rejects.toMatchObject({ code: "InvalidDigest" });
  });
});
