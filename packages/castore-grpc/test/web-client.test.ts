// The browser client's own behaviour (connect-web over Node's fetch, against a real server), and the
// server side of castore.v1.BlobUploadService/CommitChunked that its uploads end with.

import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { B3Digest, digestOf, ErrorCode, getBlob, isCastoreError, putBlob } from "castore-core";
import { BLOB_C } from "castore-fixtures";
import { MemoryBlobService } from "castore-memory";
import { corruptForTesting } from "castore-memory/testing";
import { afterAll, describe, expect, it } from "vitest";
import { BlobUploadService } from "../src/gen/castore/v1/upload_pb.js";
import { serveBlobService } from "../src/server/serve.js";
import { GrpcWebBlobService } from "../src/web/blob-service.js";
import { FixedSizeCutter } from "../src/web/cutter.js";
import { createWebTransport } from "../src/web/transport.js";
import { fetchWithoutKeepAlive, servedWeb } from "./support/served-web.js";

const CHUNK = 64 * 1024;
const smallChunks = () => new FixedSizeCutter(CHUNK);

/** A fetch that records the gRPC method of every call it makes. */
function recordingFetch(): { fetch: typeof fetch; methods: string[] } {
  const methods: string[] = [];
  return {
    methods,
    fetch: (input, init) => {
      methods.push(String(input).split("/").pop() ?? "");
      return fetchWithoutKeepAlive(input, init);
    },
  };
}

/** Deterministic, non-repeating bytes of any length (an LCG per seed). */
function patterned(length: number, seed: number): Uint8Array {
  let state = seed * 2654435761;
  return new Uint8Array(length).map(() => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state >>> 24;
  });
}

// Every call is an HTTP/1.1 request from Node's fetch: generous timeouts for a loaded machine.
describe.each(["grpc-web", "connect"] as const)("the browser client over %s", { timeout: 60_000 }, (protocol) => {
  it("uploads a blob as chunks plus a commit, and skips every chunk the server has", async () => {
    const recorded = recordingFetch();
    const client = await servedWeb({ client: { protocol, createCutter: smallChunks, fetch: recorded.fetch } });
    const data = patterned(10 * CHUNK + 1234, 1);
    const digest = await putBlob(client, data);
    expect(digest.equals(await digestOf(data))).toBe(true);
    // 11 chunks, each Stat then Put, then one commit.
    expect(recorded.methods.filter((m) => m === "Put")).toHaveLength(11);
    expect(recorded.methods.filter((m) => m === "CommitChunked")).toHaveLength(1);
    expect(await getBlob(client.backend, digest)).toEqual(data);
    expect(await getBlob(client, digest)).toEqual(data);

    // The same bytes with one chunk changed: only that chunk travels.
    recorded.methods.length = 0;
    const edited = data.slice();
    edited[5 * CHUNK + 7] = (edited[5 * CHUNK + 7] as number) ^ 1;
    const editedDigest = await putBlob(client, edited);
    expect(recorded.methods.filter((m) => m === "Put")).toHaveLength(1);
    expect(await getBlob(client.backend, editedDigest)).toEqual(edited);
    await client.close();
  });

  it("sends a blob of one chunk as one Put, and the empty blob too", async () => {
    const recorded = recordingFetch();
    const client = await servedWeb({ client: { protocol, createCutter: smallChunks, fetch: recorded.fetch } });
    const small = patterned(CHUNK, 2);
    const digest = await putBlob(client, small);
    const empty = await putBlob(client, new Uint8Array(0));
    expect(recorded.methods).toEqual(["Stat", "Put", "Stat", "Put"]);
    expect(await getBlob(client.backend, digest)).toEqual(small);
    expect(await client.backend.has(empty)).toBe(true);
    await client.close();
  });

  it("reads a corrupted blob to an Integrity error and an absent one as undefined", async () => {
    const client = await servedWeb({ client: { protocol } });
    await putBlob(client.backend, BLOB_C.data);
    expect(corruptForTesting(client.backend, BLOB_C.digest)).toBe(true);
    const error = await getBlob(client, BLOB_C.digest).catch((e: unknown) => e);
    expect(isCastoreError(error, ErrorCode.Integrity), String(error)).toBe(true);
    expect(await client.openRead(B3Digest.fromBytes(new Uint8Array(32)))).toBeUndefined();
    await client.close();
  });
});

describe("the browser client's errors", () => {
  it("is UNAVAILABLE for a server that is not there", async () => {
    // A port that was just free: bind, note it, close.
    const server = await serveBlobService(new MemoryBlobService(), { listen: { port: 0 } });
    const address = server.address;
    await server.close();
    const client = new GrpcWebBlobService(address, { fetch: fetchWithoutKeepAlive });
    for (const call of [
      () => client.has(BLOB_C.digest),
      () => client.openRead(BLOB_C.digest),
      () => putBlob(client, patterned(1000, 3)),
    ]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isCastoreError(error, ErrorCode.Unavailable), String(error)).toBe(true);
      expect(String(error)).toMatch(/server unreachable/);
    }
    await client.close();
  });

  it("refuses unix sockets and unknown protocols with InvalidAddress", () => {
    expect(() => new GrpcWebBlobService("grpc+unix:///tmp/castore.sock")).toThrow(/unix socket/);
    expect(() => new GrpcWebBlobService("grpc+http://localhost:1", { protocol: "grpc" as never })).toThrow(
      /protocol must be/,
    );
  });
});

describe("CommitChunked on the server", { timeout: 30_000 }, async () => {
  const store = new MemoryBlobService();
  const server = await serveBlobService(store, { listen: { port: 0 } });
  afterAll(async () => {
    await server.close({ timeoutMs: 2_000 });
    await store.close();
  });
  const origin = server.address.replace("grpc+", "");
  const upload = createClient(BlobUploadService, createWebTransport(origin, "grpc-web", fetchWithoutKeepAlive));
  const parts = [patterned(3000, 4), patterned(5000, 5), patterned(700, 6)];
  const whole = new Uint8Array([...parts[0]!, ...parts[1]!, ...parts[2]!]);
  const chunkDigests = await Promise.all(parts.map((part) => putBlob(store, part)));
  const chunkList = parts.map((part, i) => ({ digest: chunkDigests[i]!.bytes, size: BigInt(part.length) }));
  const wholeDigest = await digestOf(whole);

  async function codeOf(request: Parameters<typeof upload.commitChunked>[0]): Promise<Code | undefined> {
    return upload.commitChunked(request).then(
      () => undefined,
      (error: unknown) => ConnectError.from(error).code,
    );
  }

  it("refuses a wrong digest, a wrong size, an empty list and bad digests with INVALID_ARGUMENT, storing nothing", async () => {
    const other = await digestOf(patterned(10, 7));
    expect(await codeOf({ digest: other.bytes, chunks: chunkList })).toBe(Code.InvalidArgument);
    expect(await store.has(other)).toBe(false);
    // The chunks in another order hash to something else.
    const reordered = [chunkList[1]!, chunkList[0]!, chunkList[2]!];
    expect(await codeOf({ digest: wholeDigest.bytes, chunks: reordered })).toBe(Code.InvalidArgument);
    const wrongSize = chunkList.map((chunk, i) => (i === 1 ? { ...chunk, size: 4999n } : chunk));
    expect(await codeOf({ digest: wholeDigest.bytes, chunks: wrongSize })).toBe(Code.InvalidArgument);
    expect(await codeOf({ digest: wholeDigest.bytes, chunks: [] })).toBe(Code.InvalidArgument);
    expect(await codeOf({ digest: new Uint8Array(31), chunks: chunkList })).toBe(Code.InvalidArgument);
    const badChunk = [{ digest: new Uint8Array(33), size: 1n }];
    expect(await codeOf({ digest: wholeDigest.bytes, chunks: badChunk })).toBe(Code.InvalidArgument);
    expect(await store.has(wholeDigest)).toBe(false);
  });

  it("refuses a chunk the store lacks with FAILED_PRECONDITION, storing nothing", async () => {
    const absent = { digest: (await digestOf(patterned(99, 8))).bytes, size: 99n };
    expect(await codeOf({ digest: wholeDigest.bytes, chunks: [...chunkList, absent] })).toBe(Code.FailedPrecondition);
    expect(await store.has(wholeDigest)).toBe(false);
  });

  it("refuses a chunk corrupted at rest with DATA_LOSS, then stores the blob once the chunk is sound", async () => {
    const corruptStore = new MemoryBlobService();
    const corruptServer = await serveBlobService(corruptStore, { listen: { port: 0 } });
    const client = createClient(
      BlobUploadService,
      createWebTransport(corruptServer.address.replace("grpc+", ""), "grpc-web", fetchWithoutKeepAlive),
    );
    for (const part of parts) await putBlob(corruptStore, part);
    expect(corruptForTesting(corruptStore, chunkDigests[2]!)).toBe(true);
    const error = await client.commitChunked({ digest: wholeDigest.bytes, chunks: chunkList }).catch((e: unknown) => e);
    expect(ConnectError.from(error).code).toBe(Code.DataLoss);
    expect(await corruptStore.has(wholeDigest)).toBe(false);
    await corruptServer.close({ timeoutMs: 2_000 });
    await corruptStore.close();
  });

  it("stores the blob when the chunks, in order, hash to its digest (and answers its size)", async () => {
    const response = await upload.commitChunked({ digest: wholeDigest.bytes, chunks: chunkList });
    expect(response.size).toBe(BigInt(whole.length));
    expect(await getBlob(store, wholeDigest)).toEqual(whole);
    // Again: already stored, answered at once.
    expect((await upload.commitChunked({ digest: wholeDigest.bytes, chunks: chunkList })).size).toBe(8700n);
  });
});
