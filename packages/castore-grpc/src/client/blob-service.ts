import * as net from "node:net";
import type * as tls from "node:tls";
import { create, toBinary } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  type B3Digest,
  type BlobReader,
  type BlobWriter,
  type ChunkMeta,
  InvalidArgumentError,
  isIntegrity,
  isNotFound,
} from "castore-core";
import { abortedError, BaseBlobService, raceAbort } from "castore-core/backend";
import { primeMallocThresholds } from "castore-core/node";
import { checkFlowControlOptions, type FlowControlOptions } from "../flow-control.js";
import { ReadBlobRequestSchema, type BlobService as TvixBlobService } from "../gen/tvix/castore/v1/castore_pb.js";
import { MAX_MESSAGE_BYTES, positiveInteger } from "../options.js";
import {
  blobServiceDescriptors,
  DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
  DEFAULT_MESSAGE_BYTES,
  methodPath,
  type ProtoPackage,
} from "../protocol.js";
import { encodeFrame } from "../wire/frames.js";
import { fromConnectError } from "../wire/status.js";
import { traceClientCalls } from "../wire/trace-context.js";
import { type GrpcEndpoint, parseGrpcAddress } from "./address.js";
import { GrpcBlobWriter } from "./blob-writer.js";
import { GrpcClientCall } from "./grpc-call.js";
import { ReadStream } from "./read-stream.js";
import { chunkListFromWire, failing, type OpenedRead, openRemoteBlob } from "./remote-read.js";
import { WindowedSessionManager } from "./session.js";

export interface GrpcBlobServiceOptions extends FlowControlOptions {
  /** The proto package to speak; overrides the address's `?package=`. Default `tvix.castore.v1`. */
  protoPackage?: ProtoPackage | undefined;
  /** TLS settings for grpc+https, e.g. `{ ca }` to trust a private certificate authority. */
  tls?: tls.ConnectionOptions | undefined;
  /** Size of the BlobChunk messages a Put sends. Default 1 MiB. */
  messageBytes?: number | undefined;
  /** How many Put messages may be on their way at once (the writer's memory is this many messages). Default 4. */
  messagesInFlight?: number | undefined;
  /** Largest message accepted from the server. Default 4 MiB. */
  maxReceiveMessageBytes?: number | undefined;
  /** How long connecting may take before calls fail. Default 20 s. */
  connectTimeoutMs?: number | undefined;
  /** Sent as `authorization: Bearer <token>` on every call (a server started with a token requires it). */
  authToken?: string | undefined;
}

/**
 * A BlobService on a remote gRPC server: a castore server, or the Rust tvix/snix one. Connecting
 * is lazy (constructing it with nothing listening succeeds); one HTTP/2 connection carries every
 * download (Stat, Read) and another every upload (Put). Reads are verified: a server that sends wrong bytes makes the read fail with an
 * `Integrity` error instead of ending cleanly. Writes hash locally and check the server's digest.
 *
 * Stat goes through a Connect client; Read and Put, which carry the blob bytes, frame them by hand
 * so that they are never copied (see wire/frames.ts).
 */
export class GrpcBlobService extends BaseBlobService {
  /** The address this client talks to. */
  readonly address: string;
  readonly #endpoint: GrpcEndpoint;
  /** The connection for Stat and Read: blob bytes flow from the server. */
  readonly #downloads: WindowedSessionManager;
  /** The connection for Put: blob bytes flow to the server. */
  readonly #uploads: WindowedSessionManager;
  readonly #stat: Client<typeof TvixBlobService>;
  readonly #messageBytes: number;
  readonly #messagesInFlight: number;
  readonly #maxReceiveMessageBytes: number;
  /** Headers every call sends (the bearer token). */
  readonly #headers: Record<string, string>;

  constructor(address: string | URL, options: GrpcBlobServiceOptions = {}) {
    super();
    // HTTP/2 frames arrive and go in bursts of fresh buffers (see primeMallocThresholds).
    primeMallocThresholds();
    const endpoint = parseGrpcAddress(address);
    this.#endpoint = { ...endpoint, protoPackage: options.protoPackage ?? endpoint.protoPackage };
    this.address = endpoint.address;
    this.#messageBytes =
      positiveInteger("messageBytes", options.messageBytes, MAX_MESSAGE_BYTES) ?? DEFAULT_MESSAGE_BYTES;
    this.#messagesInFlight = positiveInteger("messagesInFlight", options.messagesInFlight) ?? 4;
    this.#maxReceiveMessageBytes =
      positiveInteger("maxReceiveMessageBytes", options.maxReceiveMessageBytes, MAX_MESSAGE_BYTES) ??
      DEFAULT_MAX_RECEIVE_MESSAGE_BYTES;
    const connectTimeoutMs = positiveInteger("connectTimeoutMs", options.connectTimeoutMs);
    checkFlowControlOptions(options);
    const { socketPath } = endpoint;
    const nodeOptions = socketPath ? { createConnection: () => net.connect(socketPath) } : { ...options.tls };
    // Uploads and downloads get a connection each. Node's HTTP/2 stops reading a connection while
    // one of its writes waits for the socket; with bulk data flowing both ways on one connection
    // and windows larger than the socket buffers, both ends can end up waiting for the other to
    // read (reading a blob while storing another over one connection hung that way). Bulk data
    // flowing one way per connection cannot deadlock. Each connects on first use.
    const connect = () => new WindowedSessionManager(endpoint.origin, nodeOptions, options, { connectTimeoutMs });
    this.#downloads = connect();
    this.#uploads = connect();
    const authorization = options.authToken === undefined ? undefined : `Bearer ${options.authToken}`;
    if (authorization !== undefined && !/^Bearer [\x21-\x7e]+$/.test(authorization)) {
      throw new InvalidArgumentError("authToken must be printable ASCII without spaces");
    }
    this.#headers = authorization === undefined ? {} : { authorization };
    const transport = createGrpcTransport({
      baseUrl: endpoint.origin,
      sessionManager: this.#downloads,
      interceptors: [
        traceClientCalls,
        (next) => (request) => {
          if (authorization !== undefined) request.header.set("authorization", authorization);
          return next(request);
        },
      ],
      acceptCompression: [],
      readMaxBytes: this.#maxReceiveMessageBytes,
    });
    // Both packages have the same methods and messages; only the names on the wire differ.
    const descriptor = blobServiceDescriptors[this.#endpoint.protoPackage] as typeof TvixBlobService;
    this.#stat = createClient(descriptor, transport);
  }

  /** The proto package this client speaks. */
  get protoPackage(): ProtoPackage {
    return this.#endpoint.protoPackage;
  }

  protected async hasImpl(digest: B3Digest, signal: AbortSignal | undefined): Promise<boolean> {
    return (await this.#statChunks(digest, false, signal)) !== undefined;
  }

  /** A Stat with send_chunks: the server's chunk list (`[]` for one piece), undefined when absent. */
  protected override chunksImpl(digest: B3Digest, signal: AbortSignal | undefined): Promise<ChunkMeta[] | undefined> {
    return this.#statChunks(digest, true, signal);
  }

  /**
   * A chunked blob (two or more chunks) is seekable and verified per chunk, read from the start through
   * one Read of the whole blob; anything else is one verified forward-only stream (see openRemoteBlob).
   */
  protected openReadImpl(digest: B3Digest, signal: AbortSignal | undefined): Promise<BlobReader | undefined> {
    return openRemoteBlob(
      digest,
      {
        chunks: (blob, chunksSignal) => this.#statChunks(blob, true, chunksSignal),
        read: (blob, readSignal) => this.#openRead(blob, readSignal),
      },
      signal,
    );
  }

  async #statChunks(
    digest: B3Digest,
    sendChunks: boolean,
    signal: AbortSignal | undefined,
  ): Promise<ChunkMeta[] | undefined> {
    try {
      const response = await this.#stat.stat({ digest: digest.unsafeBytes, sendChunks }, { signal });
      return chunkListFromWire(response.chunks);
    } catch (error) {
      if (signal?.aborted) throw abortedError(signal);
      const mapped = fromConnectError(error, "Stat");
      if (isNotFound(mapped)) return undefined;
      throw mapped;
    }
  }

  /**
   * Starts a Read of `digest` and waits for the server's first answer: the bytes as they arrive
   * (unverified) and a function that cancels the call, or undefined when the blob is absent. The call
   * lives until the bytes are read or `cancel` is called; `signal` only bounds opening it.
   */
  async #openRead(digest: B3Digest, signal: AbortSignal | undefined): Promise<OpenedRead | undefined> {
    const cancel = new AbortController();
    const cancelOpen = () => cancel.abort();
    signal?.addEventListener("abort", cancelOpen, { once: true });
    try {
      const call = await GrpcClientCall.open(
        this.#downloads,
        methodPath(this.protoPackage, "Read"),
        cancel.signal,
        this.#headers,
      );
      const request = toBinary(ReadBlobRequestSchema, create(ReadBlobRequestSchema, { digest: digest.unsafeBytes }));
      call.write([encodeFrame(request)]).catch(() => {}); // a failed send shows up as the call's failure
      call.closeRequest();
      const bytes = new ReadStream(call.batches(), this.#maxReceiveMessageBytes);
      // Absence is only known once the server answers: wait for the first bytes (or the end).
      await raceAbort(bytes.started(), signal);
      return { bytes, cancel: () => cancel.abort() };
    } catch (error) {
      cancel.abort();
      if (signal?.aborted) throw abortedError(signal);
      const mapped = fromConnectError(error, "Read");
      if (isNotFound(mapped)) return undefined;
      // A server that finds the blob damaged before its first byte: the blob is there, its read fails.
      if (isIntegrity(mapped)) return { bytes: failing(mapped), cancel: () => {} };
      throw mapped;
    } finally {
      signal?.removeEventListener("abort", cancelOpen);
    }
  }

  protected async openWriteImpl(): Promise<BlobWriter> {
    const path = methodPath(this.protoPackage, "Put");
    return new GrpcBlobWriter({
      openCall: (signal) => GrpcClientCall.open(this.#uploads, path, signal, this.#headers),
      messageBytes: this.#messageBytes,
      messagesInFlight: this.#messagesInFlight,
      maxReceiveMessageBytes: this.#maxReceiveMessageBytes,
    });
  }

  protected override closeImpl(): void {
    this.#downloads.abort();
    this.#uploads.abort();
  }
}
