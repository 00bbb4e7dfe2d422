// Wire compatibility with a gRPC stack castore did not write: grpc-js as a client of castore's
// server, and castore's client against a small grpc-js server.
import { join } from "node:path";
import { B3Digest, digestOf, getBlob, isIntegrity, putBlob } from "castore-core";
import { concatBytes } from "castore-core/backend";
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

  it("Stat with send_chunks answers the chunk list (field 2), each chunk readable by its digest; send_bao an empty bao", async () => {
    await putBlob(castore, BLOB_C.data);
    type Meta = { digest: Buffer; size: { toString(): string } };
    const listed = (await stat(client, BLOB_C.digest.bytes, { sendChunks: true })) as { chunks: Meta[] };
    expect(listed.chunks.length).toBeGreaterThanOrEqual(2);
    const pieces: Buffer[] = [];
    for (const chunk of listed.chunks) {
      const bytes = concatBytes(await read(client, chunk.digest));
      expect(bytes.length).toBe(Number(chunk.size.toString()));
      expect((await digestOf(bytes)).equals(B3Digest.fromBytes(chunk.digest))).toBe(true);
      pieces.push(Buffer.from(bytes));
    }
    checkBytes(Buffer.concat(pieces), BLOB_C.data, "BLOB_C from its chunks, read by grpc-js");
    expect(await stat(client, BLOB_C.digest.bytes)).toMatchObject({ chunks: [] });
    expect(await stat(client, BLOB_C.digest.bytes, { sendBao: true })).toMatchObject({
      chunks: [],
      bao: Buffer.alloc(0),
    });
    await putBlob(castore, HELLOWORLD.data);
    expect(await stat(client, HELLOWORLD.digest.bytes, { sendChunks: true })).toMatchObject({ chunks: [] });
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
  options: {
    corruptReads?: boolean;
    wrongPutDigest?: boolean;
    /** Chunk lists Stat answers (with send_chunks), by blob digest in hex. */
    chunkLists?: Map<string, { digest: Uint8Array; size: number }[]>;
    /** Digests (hex) of the Reads served, in order. */
    reads?: string[];
  } = {},
): Promise<{ server: grpc.Server; blobs: Map<string, Uint8Array>; port: number }> {
  const blobs = new Map<string, Uint8Array>();
  const key = (digest: Uint8Array) => Buffer.from(digest).toString("hex");
  const server = new grpc.Server();
  server.addService(blobServiceClient(protoPackage).service, {
    stat(
      call: grpc.ServerUnaryCall<DigestMessage & { sendChunks: boolean }, object>,
      callback: grpc.sendUnaryData<object>,
    ) {
      if (!blobs.has(key(call.request.digest))) {
        callback({ code: grpc.status.NOT_FOUND, details: "blob not found" });
        return;
      }
      const chunks = call.request.sendChunks ? (options.chunkLists?.get(key(call.request.digest)) ?? []) : [];
      callback(null, { chunks: chunks.map((chunk) => ({ digest: chunk.digest, size: chunk.size })) });
    },
    read(call: grpc.ServerWritableStream<DigestMessage, object>) {
      options.reads?.push(key(call.request.digest));
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

  it("reads a blob the grpc-js server lists in chunks: seeks anywhere chunk by chunk, streams it whole from the start, verifies each chunk", async () => {
    const sizes = [MiB, 1_500_000, 700_000, MiB + 3, BLOB_C.data.length - (2 * MiB + 2_200_003)];
    const reads: string[] = [];
    const chunkLists = new Map<string, { digest: Uint8Array; size: number }[]>();
    const { server, blobs, port } = await grpcJsServer("127.0.0.1:0", "tvix", { chunkLists, reads });
    const list: { digest: Uint8Array; size: number }[] = [];
    let offset = 0;
    for (const size of sizes) {
      const bytes = BLOB_C.data.subarray(offset, offset + size);
      const digest = await digestOf(bytes);
      blobs.set(digest.toHex(), bytes);
      list.push({ digest: digest.bytes, size });
      offset += size;
    }
    blobs.set(BLOB_C.digest.toHex(), BLOB_C.data);
    chunkLists.set(BLOB_C.digest.toHex(), list);
    // A chunk whose bytes the server serves wrong, on its own and within the whole blob: only reads
    // touching it fail.
    const damaged = pseudoRandomBytes(1000, 5);
    const damagedDigest = await digestOf(damaged);
    const damagedServed = damaged.map((byte, i) => (i === 500 ? byte ^ 1 : byte));
    const other = pseudoRandomBytes(1000, 6);
    const otherDigest = await digestOf(concatBytes([other, damaged]));
    blobs.set((await digestOf(other)).toHex(), other);
    blobs.set(damagedDigest.toHex(), damagedServed);
    blobs.set(otherDigest.toHex(), concatBytes([other, damagedServed]));
    chunkLists.set(otherDigest.toHex(), [
      { digest: (await digestOf(other)).bytes, size: 1000 },
      { digest: damagedDigest.bytes, size: 1000 },
    ]);
    const client = new GrpcBlobService(`grpc+http://127.0.0.1:${port}`);
    try {
      const chunks = await client.chunks(BLOB_C.digest);
      expect(chunks?.map((chunk) => chunk.size)).toEqual(sizes);
      const reader = await client.openRead(BLOB_C.digest);
      if (!reader) throw new Error("absent");
      expect(reader.seekable).toBe(true);
      expect(reader.size).toBe(BLOB_C.data.length);
      for (const [at, origin] of [
        [4_000_000, "start"],
        [-10, "end"],
        [5, "start"],
        [2 * MiB + 2_199_990, "start"],
      ] as const) {
        const position = await reader.seek(at, origin);
        // Up to 20 bytes (a read stops at a chunk's end: gather).
        const pieces: Uint8Array[] = [];
        for (let got = 0; got < 20; ) {
          const piece = await reader.read({ maxBytes: 20 - got });
          if (!piece) break;
          pieces.push(piece);
          got += piece.length;
        }
        const expected = BLOB_C.data.subarray(position, position + 20);
        checkBytes(concatBytes(pieces), expected, `bytes at ${position}`);
      }
      await reader.close();
      // After seeks, every Read was of a chunk, never of the whole blob.
      expect(reads.length).toBeGreaterThan(0);
      expect(reads).not.toContain(BLOB_C.digest.toHex());
      // A read from the start is one Read of the whole blob, cut into the listed chunks.
      reads.length = 0;
      checkBytes(await getBlob(client, BLOB_C.digest), BLOB_C.data, "BLOB_C read whole");
      expect(reads).toEqual([BLOB_C.digest.toHex()]);

      const mixed = await client.openRead(otherDigest);
      if (!mixed) throw new Error("absent");
      checkBytes(await mixed.read({ maxBytes: 1000 }), other, "the sound chunk");
      const error = await mixed.read().catch((e: unknown) => e);
      expect(isIntegrity(error), String(error)).toBe(true);
      await mixed.close();
      const seeking = await client.openRead(otherDigest);
      if (!seeking) throw new Error("absent");
      await seeking.seek(1500);
      const seekError = await seeking.read().catch((e: unknown) => e);
      expect(isIntegrity(seekError), String(seekError)).toBe(true);
      await seeking.close();
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
