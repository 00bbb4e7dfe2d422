import { isBackend, isUnavailable } from "castore-core";
import { describe, expect, it } from "vitest";
import { S3StoreError } from "../src/s3/errors.js";
import { S3ObjectStore } from "../src/s3/s3-store.js";
import { gatewayStore, noGateway, requireGateway, uniquePrefix } from "./support/s3.js";

describe.skipIf(noGateway !== undefined)(
  `S3 object store against Ceph RGW${noGateway ? ` (skipped: ${noGateway})` : ""}`,
  () => {
    it("puts, heads and gets whole objects; a missing key is absent, not an error", async () => {
      const store = gatewayStore();
      const key = `${uniquePrefix("s3")}/a`;
      try {
        expect(await store.head(key)).toBe(false);
        expect(await store.get(key)).toBeUndefined();
        const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
        expect(await store.putIfAbsent(key, bytes)).toBe(true);
        expect(await store.head(key)).toBe(true);
        expect(Buffer.from((await store.get(key)) as Uint8Array).equals(Buffer.from(bytes))).toBe(true);
        // An empty object (a one-piece blob's chunk list) is an object too.
        expect(await store.putIfAbsent(`${key}-empty`, new Uint8Array(0))).toBe(true);
        expect((await store.get(`${key}-empty`))?.length).toBe(0);
      } finally {
        await store.close();
      }
    });

    it("never overwrites: a second put of a key is refused by If-None-Match and the first bytes stay", async () => {
      const store = gatewayStore();
      const key = `${uniquePrefix("s3")}/once`;
      try {
        expect(await store.putIfAbsent(key, new Uint8Array([1, 2, 3]))).toBe(true);
        expect(await store.putIfAbsent(key, new Uint8Array([9, 9]))).toBe(false);
        expect([...((await store.get(key)) as Uint8Array)]).toEqual([1, 2, 3]);
      } finally {
        await store.close();
      }
    });

    it("checks the bucket on open: present passes", async () => {
      const store = gatewayStore();
      await expect(store.check()).resolves.toBeUndefined();
      await store.close();
    });

    it("wrong credentials: a typed error naming bucket and endpoint, never the key or secret", async () => {
      const target = requireGateway();
      const store = gatewayStore({ credentials: { accessKeyId: "WRONGKEYID", secretAccessKey: "WRONG-SECRET-VALUE" } });
      try {
        for (const attempt of [
          () => store.check(),
          () => store.get("x"),
          () => store.putIfAbsent("x", new Uint8Array(1)),
        ]) {
          const error = await attempt().catch((e: unknown) => e);
          expect(error).toBeInstanceOf(S3StoreError);
          expect(isBackend(error)).toBe(true);
          expect((error as S3StoreError).kind).toBe("credentials");
          const message = (error as Error).message;
          expect(message).toContain(`"${target.bucket}"`);
          expect(message).toContain(target.endpoint);
          expect(message).not.toContain("WRONG-SECRET-VALUE");
          expect(message).not.toContain("WRONGKEYID");
        }
      } finally {
        await store.close();
      }
    });

    it("a missing bucket: a typed error naming it", async () => {
      const store = gatewayStore({ bucket: "castore-no-such-bucket" });
      try {
        const error = await store.check().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(S3StoreError);
        expect((error as S3StoreError).kind).toBe("missing-bucket");
        expect((error as Error).message).toContain('"castore-no-such-bucket"');
        const onGet = await store.get("x").catch((e: unknown) => e);
        expect((onGet as S3StoreError).kind).toBe("missing-bucket");
      } finally {
        await store.close();
      }
    });
  },
);

describe("S3 object store without a service", () => {
  it("an unreachable endpoint: a typed error naming bucket and endpoint, after retries", async () => {
    // A port nothing listens on: bind one, note it, close it.
    const { createServer } = await import("node:net");
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const endpoint = `http://127.0.0.1:${port}`;
    const store = new S3ObjectStore({
      bucket: "some-bucket",
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: "K", secretAccessKey: "S3CRET" },
      retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 5 },
    });
    try {
      const error = await store.check().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(S3StoreError);
      expect((error as S3StoreError).kind).toBe("unreachable");
      expect(isUnavailable(error)).toBe(true);
      expect((error as Error).message).toContain(endpoint);
      expect((error as Error).message).toContain('"some-bucket"');
      expect((error as Error).message).toContain("ECONNREFUSED");
      expect((error as Error).message).toContain("after 3 attempts");
      expect((error as Error).message).not.toContain("S3CRET");
    } finally {
      await store.close();
    }
  });
});
