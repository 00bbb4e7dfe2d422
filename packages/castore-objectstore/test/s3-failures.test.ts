// Failures against the real gateway: it stops in the middle of an upload and comes back; a chunk
// object is damaged in the bucket.
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { digestOf, isIntegrity, isUnavailable, putBlob, readAll } from "castore-core";
import { pseudoRandomBytes } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { runGatewayScript } from "../scripts/gateway.mjs";
import { chunkKey } from "../src/layout.js";
import { S3StoreError } from "../src/s3/errors.js";
import { ObjectStoreBlobService } from "../src/service.js";
import { gatewayStore, noGateway, requireGateway, uniquePrefix } from "./support/s3.js";

const title = `objectstore+s3 failures against Ceph RGW${noGateway ? ` (skipped: ${noGateway})` : ""}`;

function service(prefix: string): ObjectStoreBlobService {
  // Few, short retries: the gateway is down for the whole failing phase, so retrying only waits.
  return new ObjectStoreBlobService(gatewayStore({ retry: { retries: 2, baseDelayMs: 20, maxDelayMs: 100 } }), {
    prefix,
    avgChunkSize: 16384,
  });
}

describe.skipIf(noGateway !== undefined).sequential(title, () => {
  it("the gateway stops during an upload: a clear error, nothing visible; once it is back a new writer succeeds", async () => {
    const target = requireGateway();
    const prefix = uniquePrefix("outage");
    const data = pseudoRandomBytes(2 * 1024 * 1024, 0x5eed);
    const digest = await digestOf(data);
    const store = service(prefix);
    const writer = await store.openWrite();
    let restarted = false;
    try {
      await writer.write(data.subarray(0, 1024 * 1024)); // chunks of the first half go up now
      await runGatewayScript(["stop-rgw", target.dir]);
      const failure = await (async () => {
        await writer.write(data.subarray(1024 * 1024));
        return writer.close();
      })().catch((e: unknown) => e);
      // Worth a retry once the gateway is back: Unavailable, not Backend.
      expect(isUnavailable(failure), String(failure)).toBe(true);
      const cause = failure instanceof S3StoreError ? failure : (failure as Error).cause;
      expect(cause).toBeInstanceOf(S3StoreError);
      expect((cause as S3StoreError).kind).toBe("unreachable");
      expect((cause as Error).message).toContain(target.endpoint);
      expect((cause as Error).message).not.toContain(target.secretAccessKey);

      await runGatewayScript(["start-rgw", target.dir]);
      restarted = true;
      const fresh = service(prefix);
      try {
        expect(await fresh.has(digest)).toBe(false); // the blob object was never written
        expect(await putBlob(fresh, data)).toEqual(digest);
        expect(
          Buffer.from(await readAll((await fresh.openRead(digest)) as AsyncIterable<Uint8Array>)).equals(
            Buffer.from(data),
          ),
        ).toBe(true);
      } finally {
        await fresh.close();
      }
    } finally {
      if (!restarted) await runGatewayScript(["start-rgw", target.dir]);
      await store.close();
    }
  });

  it("a damaged chunk object fails exactly the reads that touch it with Integrity", async () => {
    const target = requireGateway();
    const store = service(uniquePrefix("damage"));
    const data = pseudoRandomBytes(512 * 1024, 0xda3a);
    const raw = new S3Client({
      endpoint: target.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
    });
    try {
      const digest = await putBlob(store, data);
      const list = (await store.chunks(digest)) ?? [];
      expect(list.length).toBeGreaterThan(4);
      const victim = 2;
      const start = list.slice(0, victim).reduce((sum, chunk) => sum + chunk.size, 0);
      const damaged = list[victim] as { digest: import("castore-core").B3Digest; size: number };
      for (const body of [new TextEncoder().encode("not zstd"), new Uint8Array(0)]) {
        await raw.send(
          new PutObjectCommand({ Bucket: target.bucket, Key: chunkKey(store.prefix, damaged.digest), Body: body }),
        );
        // A read of the first chunk is fine.
        const before = await store.openRead(digest);
        expect(
          Buffer.from((await before?.read({ maxBytes: 1000 })) as Uint8Array).equals(
            Buffer.from(data.subarray(0, 1000)),
          ),
        ).toBe(true);
        await before?.close();
        // A read inside the damaged chunk, and a full read, fail.
        const inside = await store.openRead(digest);
        await inside?.seek(start + 10);
        const error = await inside?.read().catch((e: unknown) => e);
        expect(isIntegrity(error), String(error)).toBe(true);
        await inside?.close();
        const full = await readAll((await store.openRead(digest)) as AsyncIterable<Uint8Array>).catch(
          (e: unknown) => e,
        );
        expect(isIntegrity(full), String(full)).toBe(true);
        // The damaged chunk read as a blob of its own fails too.
        const alone = await store.openRead(damaged.digest).catch((e: unknown) => e);
        expect(isIntegrity(alone), String(alone)).toBe(true);
      }
    } finally {
      raw.destroy();
      await store.close();
    }
  });
});
