import { type Client, createClient, type Transport } from "@connectrpc/connect";
import {
  type B3Digest,
  type BlobReader,
  type BlobWriter,
  type ChunkMeta,
  InvalidAddressError,
  isIntegrity,
  isNotFound,
} from "castore-core";
import { abortedError, BaseBlobService, chunkSizesFor, FastCdcChunker, raceAbort } from "castore-core/backend";
import { type GrpcEndpoint, parseGrpcAddress } from "../client/address.js";
import { chunkListFromWire, failing, type OpenedRead, openRemoteBlob } from "../client/remote-read.js";
import { BlobUploadService } from "../gen/castore/v1/upload_pb.js";
import type { BlobService as TvixBlobService } from "../gen/tvix/castore/v1/castore_pb.js";
import { positiveInteger } from "../options.js";
import { blobServiceDescriptors, type ProtoPackage } from "../protocol.js";
import type { ChunkCutter } from "./cutter.js";
import { putOneMessage } from "./put-call.js";
import { fromWebError } from "./status.js";
import { createWebTransport, type WebProtocol } from "./transport.js";
import { ChunkedUploadWriter, type UploadedChunk } from "./upload-writer.js";

export interface GrpcWebBlobServiceOptions {
  /** The proto package to speak; overrides the address's `?package=`. Default `tvix.castore.v1`. */
  protoPackage?: ProtoPackage | undefined;
  /** `"grpc-web"` (the default; also what gRPC-Web proxies in front of other servers speak) or `"connect"`. */
  protocol?: WebProtocol | undefined;
  /** How many chunks an upload checks or sends at once. Default 4. */
  uploadConcurrency?: number | undefined;
  /** Makes the chunk cutter of each upload. Default: FastCDC 2020 with snix's sizes (256 KiB average). */
  createCutter?: (() => ChunkCutter) | undefined;
  /** The fetch to use (default: the global one), e.g. one that adds credentials. */
  fetch?: typeof globalThis.fetch | undefined;
}

/**
 * A BlobService on a remote castore server, for browsers (and any runtime with fetch): the calls
 * go over connect-web, as gRPC-Web or the Connect protocol, to the server's origin, which must
 * allow the page's origin (the server's `cors` option, the daemon's `--cors-allow-origin`).
 *
 * Reads are verified like the Node client's: a server that sends wrong bytes makes the read fail
 * with an `Integrity` error. Writes cannot stream (fetch has no streaming request bodies), so a
 * blob is uploaded in chunks, each a one-message Put, and committed with castore's
 * `BlobUploadService/CommitChunked` (see ChunkedUploadWriter); that extension is served by castore
 * servers only. An unreachable server is an UNAVAILABLE `Backend` error.
 */
export class GrpcWebBlobService extends BaseBlobService {
  /** The address this client talks to. */
  readonly address: string;
  /** The protocol it speaks. */
  readonly protocol: WebProtocol;
  readonly #endpoint: GrpcEndpoint;
  readonly #transport: Transport;
  readonly #blobs: Client<typeof TvixBlobService>;
  readonly #uploads: Client<typeof BlobUploadService>;
  readonly #uploadConcurrency: number;
  readonly #createCutter: () => ChunkCutter;
  /** Cancels every call when the service closes. */
  readonly #closing = new AbortController();

  constructor(address: string | URL, options: GrpcWebBlobServiceOptions = {}) {
    super();
    const endpoint = parseGrpcAddress(address);
    if (endpoint.socketPath !== undefined) {
      throw new InvalidAddressError(`${endpoint.address}: a browser cannot reach a unix socket (use grpc+http(s)://)`);
    }
    this.#endpoint = { ...endpoint, protoPackage: options.protoPackage ?? endpoint.protoPackage };
    this.address = endpoint.address;
    this.protocol = options.protocol ?? "grpc-web";
    if (this.protocol !== "grpc-web" && this.protocol !== "connect") {
      throw new InvalidAddressError(`protocol must be "grpc-web" or "connect", got ${String(this.protocol)}`);
    }
    this.#uploadConcurrency = positiveInteger("uploadConcurrency", options.uploadConcurrency) ?? 4;
    // The chunks snix and castore's chunking stores cut, so uploads of edited files skip unchanged regions.
    this.#createCutter = options.createCutter ?? (() => new FastCdcChunker(chunkSizesFor()));
    this.#transport = createWebTransport(endpoint.origin, this.protocol, options.fetch);
    this.#blobs = createClient(this.#descriptor, this.#transport);
    this.#uploads = createClient(BlobUploadService, this.#transport);
  }

  /** The proto package this client speaks. */
  get protoPackage(): ProtoPackage {
    return this.#endpoint.protoPackage;
  }

  protected async hasImpl(digest: B3Digest, signal: AbortSignal | undefined): Promise<boolean> {
    return (await this.#statChunks(digest, false, this.#signal(signal))) !== undefined;
  }

  /** A Stat with send_chunks: the server's chunk list (`[]` for one piece), undefined when absent. */
  protected override chunksImpl(digest: B3Digest, signal: AbortSignal | undefined): Promise<ChunkMeta[] | undefined> {
    return this.#statChunks(digest, true, this.#signal(signal));
  }

  /**
   * A chunked blob (two or more chunks) is seekable and verified per chunk, read from the start through
   * one Read of the whole blob; anything else is one verified forward-only stream (see openRemoteBlob).
   */
  protected openReadImpl(digest: B3Digest, signal: AbortSignal | undefined): Promise<BlobReader | undefined> {
    return openRemoteBlob(
      digest,
      {
        chunks: (blob, chunksSignal) => this.#statChunks(blob, true, this.#signal(chunksSignal)),
        read: (blob, readSignal) => this.#openRead(blob, readSignal),
      },
      signal,
    );
  }

  /**
   * Starts a Read of `digest` and waits for the server's first answer: the bytes as they arrive
   * (unverified) and a function that cancels the call, or undefined when the blob is absent. The call
   * lives until the bytes are read or `cancel` is called; `signal` only bounds opening it.
   */
  async #openRead(digest: B3Digest, signal: AbortSignal | undefined): Promise<OpenedRead | undefined> {
    const cancel = new AbortController();
    const stopOpening = () => cancel.abort();
    signal?.addEventListener("abort", stopOpening, { once: true });
    try {
      const callSignal = this.#signal(cancel.signal);
      const messages = this.#blobs.read({ digest: digest.unsafeBytes }, { signal: callSignal })[Symbol.asyncIterator]();
      // Absence is only known once the server answers: wait for the first message (or the end).
      const first = await raceAbort(messages.next(), signal);
      const bytes = async function* (): AsyncGenerator<Uint8Array> {
        try {
          for (let next = first; !next.done; next = await messages.next()) yield next.value.data;
        } catch (error) {
          throw fromWebError(error, "Read");
        } finally {
          cancel.abort();
        }
      };
      return { bytes: bytes(), cancel: () => cancel.abort() };
    } catch (error) {
      cancel.abort();
      if (signal?.aborted) throw abortedError(signal);
      const mapped = fromWebError(error, "Read");
      if (isNotFound(mapped)) return undefined;
      // A server that finds the blob damaged before its first byte: the blob is there, its read fails.
      if (isIntegrity(mapped)) return { bytes: failing(mapped), cancel: () => {} };
      throw mapped;
    } finally {
      signal?.removeEventListener("abort", stopOpening);
    }
  }

  protected async openWriteImpl(): Promise<BlobWriter> {
    return new ChunkedUploadWriter({
      cutter: this.#createCutter(),
      concurrency: this.#uploadConcurrency,
      calls: {
        has: async (digest, signal) => (await this.#statChunks(digest, false, this.#signal(signal))) !== undefined,
        put: async (bytes, digest, signal) => {
          try {
            await putOneMessage(this.#transport, this.#descriptor, bytes, digest, this.#signal(signal));
          } catch (error) {
            throw fromWebError(error, "Put");
          }
        },
        commit: (digest, chunks, signal) => this.#commit(digest, chunks, this.#signal(signal)),
      },
    });
  }

  protected override closeImpl(): void {
    this.#closing.abort();
  }

  /** Both packages have the same methods and messages; only the names on the wire differ. */
  get #descriptor(): typeof TvixBlobService {
    return blobServiceDescriptors[this.#endpoint.protoPackage] as typeof TvixBlobService;
  }

  async #statChunks(digest: B3Digest, sendChunks: boolean, signal: AbortSignal): Promise<ChunkMeta[] | undefined> {
    try {
      const response = await this.#blobs.stat({ digest: digest.unsafeBytes, sendChunks }, { signal });
      return chunkListFromWire(response.chunks);
    } catch (error) {
      if (signal.aborted) throw abortedError(signal);
      const mapped = fromWebError(error, "Stat");
      if (isNotFound(mapped)) return undefined;
      throw mapped;
    }
  }

  async #commit(digest: B3Digest, chunks: readonly UploadedChunk[], signal: AbortSignal): Promise<void> {
    try {
      await this.#uploads.commitChunked(
        {
          digest: digest.unsafeBytes,
          chunks: chunks.map((chunk) => ({ digest: chunk.digest.unsafeBytes, size: BigInt(chunk.size) })),
        },
        { signal },
      );
    } catch (error) {
      if (signal.aborted) throw abortedError(signal);
      throw fromWebError(error, "CommitChunked");
    }
  }

  #signal(signal: AbortSignal | undefined): AbortSignal {
    return signal ? AbortSignal.any([signal, this.#closing.signal]) : this.#closing.signal;
  }
}
