import { create, type DescMethodServerStreaming } from "@bufbuild/protobuf";
import type { Transport } from "@connectrpc/connect";
import { B3Digest, IntegrityError } from "castore-core";
import {
  type BlobChunk,
  BlobChunkSchema,
  type PutBlobResponse,
  type PutBlobResponseSchema,
  type BlobService as TvixBlobService,
} from "../gen/tvix/castore/v1/castore_pb.js";

type PutAsServerStreaming = DescMethodServerStreaming<typeof BlobChunkSchema, typeof PutBlobResponseSchema>;

/**
 * Put with exactly one request message, over connect-web. fetch cannot stream a request body, so
 * connect-web refuses client-streaming calls; but a client-streaming call with one message looks on
 * the wire exactly like a server-streaming one (gRPC-Web and the Connect protocol frame both as a
 * stream of enveloped messages), and connect-web sends a server-streaming call's one request
 * message as the whole body. So the Put method is presented to the transport as server-streaming.
 */
export async function putOneMessage(
  transport: Transport,
  service: typeof TvixBlobService,
  bytes: Uint8Array,
  expected: B3Digest,
  signal: AbortSignal,
): Promise<void> {
  const method = { ...service.method.put, methodKind: "server_streaming" } as unknown as PutAsServerStreaming;
  const request: BlobChunk = create(BlobChunkSchema, { data: bytes });
  const response = await transport.stream(method, signal, undefined, undefined, oneMessage(request), undefined);
  let answer: PutBlobResponse | undefined;
  for await (const message of response.message) answer ??= message;
  let stored: B3Digest;
  try {
    stored = B3Digest.fromBytes(answer?.digest ?? new Uint8Array(0));
  } catch (error) {
    throw new IntegrityError("Put: the server answered with a malformed digest", { cause: error });
  }
  if (!stored.equals(expected)) {
    throw new IntegrityError(`Put: the server stored the chunk as ${stored}, but its bytes hash to ${expected}`);
  }
}

async function* oneMessage<T>(message: T): AsyncGenerator<T> {
  yield message;
}
