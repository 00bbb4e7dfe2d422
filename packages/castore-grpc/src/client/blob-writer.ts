import { fromBinary } from "@bufbuild/protobuf";
import { B3Digest, IntegrityError } from "castore-core";
import { BaseBlobWriter, raceAbort } from "castore-core/backend";
import { PutBlobResponseSchema } from "../gen/tvix/castore/v1/castore_pb.js";
import { blobChunkFrameHeader, readSingleFrame } from "../wire/frames.js";
import { fromConnectError } from "../wire/status.js";
import type { GrpcClientCall } from "./grpc-call.js";
import { SendBuffers } from "./send-buffers.js";

export interface GrpcBlobWriterOptions {
  /** Starts the Put call (on the first write, so an unused writer costs no round trip); `signal` cancels it. */
  openCall: (signal: AbortSignal) => Promise<GrpcClientCall>;
  /** Size of the BlobChunk messages sent (the last one may be shorter). */
  messageBytes: number;
  /** How many messages may be on their way at once. */
  messagesInFlight: number;
  /** Largest response message accepted. */
  maxReceiveMessageBytes: number;
}

/**
 * A blob written over a client-streaming Put. Core's BaseBlobWriter hashes the bytes as they go
 * out; on close the server's digest must equal ours, otherwise the write fails with an
 * `Integrity` error. Aborting cancels the call, and the server then stores nothing.
 *
 * A write of whole messages is sent from the caller's buffer as it is (no copy), and resolves once
 * HTTP/2 has sent it. Smaller writes, and what is left after the whole messages, are copied into
 * full-size messages (see SendBuffers): small writes are gathered, `write` resolves as soon as
 * the caller's buffer is free again, and the next message is queued while the previous ones are
 * still in flight. Either way a byte is copied at most once on the send path.
 */
export class GrpcBlobWriter extends BaseBlobWriter {
  readonly #options: GrpcBlobWriterOptions;
  readonly #buffers: SendBuffers;
  /** Cancels the call, whether it is still connecting or already streaming. */
  readonly #cancel = new AbortController();
  #call: Promise<GrpcClientCall> | undefined;
  /** The server's answer, read from the moment the call starts (it may answer early, with an error). */
  #response: Promise<Uint8Array> | undefined;
  /** The message being filled. */
  #message: { buffer: Uint8Array; filled: number } | undefined;
  /** Why sending failed, once it has. */
  #sendFailure: unknown;

  constructor(options: GrpcBlobWriterOptions) {
    super();
    this.#options = options;
    this.#buffers = new SendBuffers(options.messageBytes, options.messagesInFlight);
  }

  protected async writeChunk(chunk: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    const call = await this.#started(signal);
    const size = this.#options.messageBytes;
    let offset = 0;
    // Whole messages straight from the caller's buffer, when nothing is being gathered: no copy,
    // but `write` then resolves only once HTTP/2 has sent them (the caller may reuse the buffer).
    const direct: Promise<void>[] = [];
    if (this.#message === undefined) {
      for (; chunk.length - offset >= size; offset += size) {
        direct.push(call.write([blobChunkFrameHeader(size), chunk.subarray(offset, offset + size)]));
      }
    }
    while (offset < chunk.length) {
      if (this.#message === undefined) {
        const buffer = await this.#buffers.acquire(signal);
        if (buffer === undefined || this.#sendFailure !== undefined) await this.#throwSendFailure();
        this.#message = { buffer: buffer as Uint8Array, filled: 0 };
      }
      const message = this.#message;
      const take = Math.min(message.buffer.length - message.filled, chunk.length - offset);
      message.buffer.set(chunk.subarray(offset, offset + take), message.filled);
      message.filled += take;
      offset += take;
      if (message.filled === message.buffer.length) this.#send(call);
    }
    if (direct.length > 0) {
      try {
        await raceAbort(Promise.all(direct), signal);
      } catch (error) {
        this.#sendFailure ??= error;
        if (signal?.aborted) throw error;
        await this.#throwSendFailure();
      }
    }
  }

  protected async commit(digest: B3Digest, _size: number, signal: AbortSignal | undefined): Promise<void> {
    const call = await this.#started(signal);
    if (this.#message) this.#send(call);
    call.closeRequest();
    let message: Uint8Array;
    try {
      message = await raceAbort(this.#response as Promise<Uint8Array>, signal);
    } catch (error) {
      throw fromConnectError(error, "Put");
    }
    let stored: B3Digest;
    try {
      stored = B3Digest.fromBytes(fromBinary(PutBlobResponseSchema, message).digest);
    } catch (error) {
      throw new IntegrityError("Put: the server answered with a malformed digest", { cause: error });
    }
    if (!stored.equals(digest)) {
      throw new IntegrityError(`Put: the server stored the blob as ${stored}, but the bytes sent hash to ${digest}`);
    }
  }

  protected discard(): void {
    this.#cancel.abort();
    this.#buffers.wake();
  }

  /** Queues the current message; its buffer is reused once HTTP/2 has sent it. */
  #send(call: GrpcClientCall): void {
    const { buffer, filled } = this.#message as { buffer: Uint8Array; filled: number };
    this.#message = undefined;
    call.write([blobChunkFrameHeader(filled), buffer.subarray(0, filled)]).then(
      () => this.#buffers.release(buffer),
      (error: unknown) => {
        this.#sendFailure ??= error;
        this.#buffers.wake();
      },
    );
  }

  /** A server that refuses the blob (too large a message, say) answers and resets the stream; its status explains the failure better than the failed send does. */
  async #throwSendFailure(): Promise<never> {
    const status = await this.#response?.then(
      () => undefined,
      (error: unknown) => error,
    );
    throw fromConnectError(status ?? this.#sendFailure ?? new Error("the upload was cancelled"), "Put");
  }

  async #started(signal: AbortSignal | undefined): Promise<GrpcClientCall> {
    this.#call ??= this.#options.openCall(this.#cancel.signal).then((call) => {
      this.#response = readSingleFrame(call.body(), this.#options.maxReceiveMessageBytes);
      this.#response.catch(() => {}); // awaited by commit() or after a failed send
      return call;
    });
    try {
      return await raceAbort(this.#call, signal);
    } catch (error) {
      throw fromConnectError(error, "Put");
    }
  }
}
