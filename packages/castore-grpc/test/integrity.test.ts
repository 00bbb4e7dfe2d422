// castore's client verifies what any server sends: wrong bytes make a read fail with Integrity.
import { type B3Digest, type BlobReader, type BlobWriter, getBlob, isIntegrity } from "castore-core";
import { BaseBlobService, ForwardSeeker } from "castore-core/backend";
import { BLOB_C, HELLOWORLD } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { served } from "./support/served.js";

/** A store that hands out BLOB_C with one byte flipped, for any digest, without checking. */
class LyingBlobService extends BaseBlobService {
  protected async hasImpl(): Promise<boolean> {
    return true;
  }
  protected async openReadImpl(digest: B3Digest): Promise<BlobReader | undefined> {
    const wrong = BLOB_C.data.slice();
    wrong[4_000_000] = (wrong[4_000_000] as number) ^ 0x40;
    return new ForwardSeeker(
      digest,
      (async function* () {
        for (let offset = 0; offset < wrong.length; offset += 65_536) yield wrong.subarray(offset, offset + 65_536);
      })(),
    );
  }
  protected async openWriteImpl(): Promise<BlobWriter> {
    throw new Error("read-only");
  }
}

describe.each(["unix", "tcp"] as const)("a server that sends wrong bytes, over %s", (transport) => {
  it("makes castore's reads fail with Integrity instead of ending cleanly", async () => {
    const castore = await served(transport, { backend: new LyingBlobService() });
    for (const fixture of [BLOB_C, HELLOWORLD]) {
      const error = await getBlob(castore, fixture.digest).catch((e: unknown) => e);
      expect(isIntegrity(error), `${fixture.name}: ${String(error)}`).toBe(true);
    }
    await castore.close();
  });
});
