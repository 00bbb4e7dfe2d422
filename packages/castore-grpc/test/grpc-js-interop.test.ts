// Wire compatibility with a gRPC stack castore did not write: grpc-js as a client of castore's
// server, and castore's client against a small grpc-js server.
import { join } from "node:path";
import { B3Digest, concatBytes, digestOf, getBlob, isIntegrity, putBlob } from "castore-core";
import { BLOB_B, BLOB_C, checkBytes, DUMMY_DIGEST, HELLOWORLD, pseudoRandomBytes } from "castore-fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GrpcBlobService } from "../src/client/blob-service.js";
import {
  blobServiceClient,
  type DigestMessage,
  type GrpcJsClient,
  grpc,
  grpcJsClient,
  put,
  read,
  stat,
} from "./support/grpc-js.js";
import { type ServedClient, served, tempDir } from "./support/served.js";

const MiB = 1 << 20;

function statusOf(promise: Promise<unknown>): Promise<{ code: number; details: string } | undefined> {
  return promise.then(
    () => undefined,
    (error: grpc.ServiceError) => ({ code: error.code, details: error.details }),
  );
}

describe.each(["unix", "tcp"] as const)("grpc-js client against castore's server over %s", (transport) => {
  let castore: ServedClient;
  let client: GrpcJsClient;
  beforeAll(async () => {
    castore = await served(transport, { server: { readChunkBytes: 100_000 } });
    client = grpcJsClient(castore.server.address);
  });
  afterAll(async () => {
    client.close();
    await castore.close();
  });

  it("Put in uneven messages (including empty ones) stores their concatenation and answers its digest", async () => {
    const data = pseudoRandomBytes(MiB + 70_000, 11);
    const sizes = [1, 1000, 0, 65_537, 3, 0, MiB - 66_541 - 4000, 7];
    const pieces: Uint8Array[] = [];
    let offset = 0;
    for (const size of [...sizes, data.length]) {
      if (offset >= data.length) break;
      pieces.push(data.subarray(offset, offset + size));
      offset += size;
    }
    const answered = await put(client, pieces);
    const expected = await digestOf(data);
    expect(B3Digest.fromBytes(answered).equals(expected)).toBe(true);
    checkBytes(await getBlob(castore, expected), data, "the blob stored by grpc-js, read back by castore");
  });

  it("Stat answers for a stored blob and NOT_FOUND for an absent one", async () => {
    await putBlob(castore, HELLOWORLD.data);
    expect(await statusOf(stat(client, HELLOWORLD.digest.bytes))).toBeUndefined();
    expect(await statusOf(stat(client, DUMMY_DIGEST.bytes))).toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it("Read streams the blob in messages of at most the configured size", async () => {
    await putBlob(castore, BLOB_C.data);
    const messages = await read(client, BLOB_C.digest.bytes);
    expect(Math.max(...messages.map((m) => m.length))).toBeLessThanOrEqual(100_000);
    checkBytes(concatBytes(messages), BLOB_C.data, "BLOB_C read by grpc-js");
  });

  it("Read of an absent blob is NOT_FOUND", async () => {
    expect(await statusOf(read(client, DUMMY_DIGEST.bytes))).toMatchObject({
      code: grpc.status.NOT_FOUND,
      // grpc-message percent-encodes only what is not printable ASCII (and '%'), as grpc-js expects.
      details: `blob ${DUMMY_DIGEST} not found`,
    });
  });

  it("a digest of the wrong length is INVALID_ARGUMENT, with a message naming the length", async () => {
    const short = new Uint8Array(31);
    for (const call of [stat(client, short), read(client, short)]) {
      const status = await statusOf(call);
      expect(status?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(status?.details).toMatch(/31 bytes/);
    }
  });

  it("serves the same service under snix.castore.v1", async () => {
    await putBlob(castore, BLOB_B.data);
    const snix = grpcJsClient(castore.server.address, "snix");
    try {
      checkBytes(concatBytes(await read(snix, BLOB_B.digest.bytes)), BLOB_B.data, "BLOB_B read over snix.castore.v1");
      expect(B3Digest.fromBytes(await put(snix, [HELLOWORLD.data])).equals(HELLOWORLD.digest)).toBe(true);
    } finally {
      snix.close();
    }
  });

  it("a message over the server's limit is RESOURCE_EXHAUSTED and stores nothing; the server goes on", async () => {
    const data = pseudoRandomBytes(4 * MiB + 1, 12);
    const status = await statusOf(put(client, [data]));
    expect(status?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(await castore.has(await digestOf(data))).toBe(false);
    expect(await statusOf(stat(client, HELLOWORLD.digest.bytes))).toBeUndefined();
  });
});

/** A BlobService written with grpc-js: a Map, Read in messages of 100 000 bytes. */
async function grpcJsServer(
  address: string,
  protoPackage: "tvix" | "snix",
  options: { corruptReads?: boolean; wrongPutDigest?: boolean } = {},
): Promise<{ server: grpc.Server; blobs: Map<string, Uint8Array>; port: number }> {
  const blobs = new Map<string, Uint8Array>();
  const key = (digest: Uint8Array) => Buffer.from(digest).toString("hex");
  const server = new grpc.Server();
  server.addService(blobServiceClient(protoPackage).service, {
    stat(call: grpc.ServerUnaryCall<DigestMessage, object>, callback: grpc.sendUnaryData<object>) {
      if (blobs.has(key(call.request.digest))) callback(null, {});
      else callback({ code: grpc.status.NOT_FOUND, details: "blob not found" });
    },
    read(call: grpc.ServerWritableStream<DigestMessage, object>) {
      const blob = blobs.get(key(call.request.digest));
      if (!blob) {
        call.emit("error", { code: grpc.status.NOT_FOUND, details: "blob not found" });
        return;
      }
      const sent = options.corruptReads ? blob.slice() : blob;
      if (options.corruptReads) sent[sent.length >> 1] = (sent[sent.length >> 1] as number) ^ 1;
      for (let offset = 0; offset < sent.length; offset += 100_000) {
        call.write({ data: sent.subarray(offset, offset + 100_000) });
      }
      call.end();
    },
    put(call: grpc.ServerReadableStream<{ data: Buffer }, object>, callback: grpc.sendUnaryData<object>) {
      const pieces: Uint8Array[] = [];
      call.on("data", (message: { data: Buffer }) => pieces.push(message.data));
      call.on("end", async () => {
        const data = pieces.length === 0 ? new Uint8Array(0) : concatBytes(pieces);
        const digest = await digestOf(data);
        blobs.set(digest.toHex(), data);
        callback(null, { digest: options.wrongPutDigest ? DUMMY_DIGEST.bytes : digest.bytes });
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { server, blobs, port };
}

describe("castore's client against a grpc-js server", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
  });
  const stop = (server: grpc.Server) => new Promise<void>((resolve) => server.tryShutdown(() => resolve()));

  it.each(["tvix", "snix"] as const)("stores, finds and reads blobs over %s.castore.v1", async (protoPackage) => {
    const socket = join(dir, `${protoPackage}.sock`);
    const { server, blobs } = await grpcJsServer(`unix://${socket}`, protoPackage);
    const client = new GrpcBlobService(`grpc+unix://${socket}?package=${protoPackage}.castore.v1`);
    try {
      expect((await putBlob(client, BLOB_C.data)).equals(BLOB_C.digest)).toBe(true);
      checkBytes(blobs.get(BLOB_C.digest.toHex()), BLOB_C.data, "what the grpc-js server stored");
      expect(await client.has(BLOB_C.digest)).toBe(true);
      expect(await client.has(DUMMY_DIGEST)).toBe(false);
      checkBytes(await getBlob(client, BLOB_C.digest), BLOB_C.data, "BLOB_C read from the grpc-js server");
      expect(await client.openRead(DUMMY_DIGEST)).toBeUndefined();
      expect((await putBlob(client, new Uint8Array(0))).toHex()).toBe(
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
      );
    } finally {
      await client.close();
      await stop(server);
    }
  });

  it("a server that sends wrong bytes makes the read fail with Integrity, not end cleanly", async () => {
    const { server, blobs, port } = await grpcJsServer("127.0.0.1:0", "tvix", { corruptReads: true });
    blobs.set(BLOB_C.digest.toHex(), BLOB_C.data);
    const client = new GrpcBlobService(`grpc+http://127.0.0.1:${port}`);
    try {
      const error = await getBlob(client, BLOB_C.digest).catch((e: unknown) => e);
      expect(isIntegrity(error), String(error)).toBe(true);
    } finally {
      await client.close();
      await stop(server);
    }
  });

  it("a Put answered with another digest than the bytes' fails with Integrity", async () => {
    const socket = join(dir, "liar.sock");
    const { server } = await grpcJsServer(`unix://${socket}`, "tvix", { wrongPutDigest: true });
    const client = new GrpcBlobService(`grpc+unix://${socket}`);
    try {
      const error = await putBlob(client, HELLOWORLD.data).catch((e: unknown) => e);
      expect(isIntegrity(error), String(error)).toBe(true);
    } finally {
      await client.close();
      await stop(server);
    }
  });
});
