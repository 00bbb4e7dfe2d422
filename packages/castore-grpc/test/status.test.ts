// Errors cross the wire as the kind they are, and grpc-message is encoded one way (the spec's) on
// every method, whichever path (Connect for Stat, our own framing for Read and Put) answers it.
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type B3Digest,
  type BlobReader,
  type BlobWriter,
  type CastoreError,
  InvalidAddressError,
  InvalidArgumentError,
  InvalidDigestError,
  isCastoreError,
} from "castore-core";
import { BaseBlobService } from "castore-core/backend";
import { DUMMY_DIGEST } from "castore-fixtures";
import { afterEach, describe, expect, it } from "vitest";
import { fromConnectError } from "../src/wire/status.js";
import { grpc, grpcJsClient, read, stat } from "./support/grpc-js.js";
import { type ServedClient, served } from "./support/served.js";

/** A store whose every call fails with the error it is given (with a message that needs encoding). */
class FailingService extends BaseBlobService {
  failure: () => CastoreError = () => new InvalidArgumentError("nope");
  protected async hasImpl(_digest: B3Digest): Promise<boolean> {
    throw this.failure();
  }
  protected async openReadImpl(_digest: B3Digest): Promise<BlobReader | undefined> {
    throw this.failure();
  }
  protected async openWriteImpl(): Promise<BlobWriter> {
    throw this.failure();
  }
}

let castore: ServedClient & { backend: FailingService };
afterEach(async () => {
  await castore.close();
});

describe("error kinds across the wire", () => {
  it.each([
    ["InvalidArgument", () => new InvalidArgumentError("bad option: b3:AB/+= 100% ✓")],
    ["InvalidAddress", () => new InvalidAddressError("bad address: grpc+unix:///a b")],
    ["InvalidDigest", () => new InvalidDigestError("digest of 3 bytes")],
  ] as const)("%s stays %s on Stat, Read and Put", async (code, failure) => {
    castore = await served("unix", { backend: new FailingService() });
    castore.backend.failure = failure;
    const calls = [
      castore.has(DUMMY_DIGEST),
      castore.openRead(DUMMY_DIGEST),
      castore.openWrite().then(async (writer) => {
        await writer.write(new Uint8Array(10));
        return writer.close();
      }),
    ];
    for (const result of await Promise.allSettled(calls)) {
      const error = (result as PromiseRejectedResult).reason;
      expect(isCastoreError(error, code), String(error)).toBe(true);
      expect(String(error)).toContain(failure().message);
    }
  });

  it("INVALID_ARGUMENT from a peer that does not name the kind is InvalidArgument", () => {
    const error = fromConnectError(new ConnectError("bad", Code.InvalidArgument), "Stat");
    expect(isCastoreError(error, "InvalidArgument"), String(error)).toBe(true);
  });

  it("RESOURCE_EXHAUSTED is TooLarge, or Unavailable when the server names it so (it is busy)", () => {
    const limit = fromConnectError(new ConnectError("message too large", Code.ResourceExhausted), "Put");
    expect(isCastoreError(limit, "TooLarge"), String(limit)).toBe(true);
    const metadata = { "castore-error-code": "Unavailable" };
    const busy = fromConnectError(new ConnectError("the server is busy", Code.ResourceExhausted, metadata), "Put");
    expect(isCastoreError(busy, "Unavailable"), String(busy)).toBe(true);
  });

  it("a peer cannot turn another status into an invalid-input kind", () => {
    const metadata = { "castore-error-code": "InvalidDigest" };
    const error = fromConnectError(new ConnectError("gone", Code.NotFound, metadata), "Stat");
    expect(isCastoreError(error, "NotFound"), String(error)).toBe(true);
  });

  it.each(["Failed to fetch", "NetworkError when attempting to fetch resource.", "Load failed"])(
    "a browser transport's %j (the server is unreachable) is unavailable, not an internal error",
    (message) => {
      const cause = new TypeError(message);
      const error = fromConnectError(new ConnectError(message, Code.Unknown, undefined, undefined, cause), "Read");
      expect(isCastoreError(error, "Unavailable"), String(error)).toBe(true);
    },
  );
});

describe("grpc-message", () => {
  it("is the spec's encoding on Stat (answered by Connect) as on Read (answered by our framing)", async () => {
    castore = await served("unix", { backend: new FailingService() });
    const message = "bad option: b3:AB/+= 100% ✓";
    castore.backend.failure = () => new InvalidArgumentError(message);
    const client = grpcJsClient(castore.server.address);
    try {
      // grpc-js decodes only what the spec asks: anything else encoded would show as sent.
      for (const call of [stat(client, DUMMY_DIGEST.bytes), read(client, DUMMY_DIGEST.bytes)]) {
        const error = (await call.catch((e: unknown) => e)) as { code: number; details: string };
        expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
        expect(error.details).toBe(message);
      }
    } finally {
      client.close();
    }
  });
});
