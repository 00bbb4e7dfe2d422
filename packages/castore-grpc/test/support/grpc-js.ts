// A gRPC stack castore did not write: @grpc/grpc-js with the protos loaded by @grpc/proto-loader
// at run time (no generated code of ours involved), to check wire compatibility both ways.
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const protos = fileURLToPath(new URL("../../../../protos/", import.meta.url));

export interface BlobChunkMessage {
  data: Buffer;
}
export interface DigestMessage {
  digest: Buffer;
}

/** The grpc-js client constructor for `<protoPackage>.BlobService`. */
export function blobServiceClient(protoPackage: "tvix" | "snix"): grpc.ServiceClientConstructor {
  const definition = protoLoader.loadSync(`${protoPackage}/castore/v1/castore.proto`, {
    includeDirs: [protos],
    defaults: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as Record<
    string,
    { castore: { v1: { BlobService: grpc.ServiceClientConstructor } } }
  >;
  return (loaded[protoPackage] as { castore: { v1: { BlobService: grpc.ServiceClientConstructor } } }).castore.v1
    .BlobService;
}

/** grpc-js's target for a castore address (it spells unix sockets `unix:///path`). */
export function grpcJsTarget(address: string): string {
  const url = new URL(address);
  return url.protocol === "grpc+unix:" ? `unix://${decodeURIComponent(url.pathname)}` : url.host;
}

export type GrpcJsClient = grpc.Client & {
  stat(request: object, callback: (error: grpc.ServiceError | null, response?: unknown) => void): void;
  read(request: object): grpc.ClientReadableStream<BlobChunkMessage>;
  put(callback: (error: grpc.ServiceError | null, response?: DigestMessage) => void): grpc.ClientWritableStream<object>;
};

/** A grpc-js client for the castore server at `address`. */
export function grpcJsClient(address: string, protoPackage: "tvix" | "snix" = "tvix"): GrpcJsClient {
  const Client = blobServiceClient(protoPackage);
  return new Client(grpcJsTarget(address), grpc.credentials.createInsecure()) as unknown as GrpcJsClient;
}

export function stat(
  client: GrpcJsClient,
  digest: Uint8Array,
  flags: { sendChunks?: boolean; sendBao?: boolean } = {},
): Promise<unknown> {
  return new Promise((resolve, reject) =>
    client.stat({ digest, ...flags }, (error, response) => (error ? reject(error) : resolve(response))),
  );
}

/** Every message of a Read, in order. */
export async function read(client: GrpcJsClient, digest: Uint8Array): Promise<Buffer[]> {
  const messages: Buffer[] = [];
  for await (const message of client.read({ digest }) as AsyncIterable<BlobChunkMessage>) messages.push(message.data);
  return messages;
}

/** A Put of `pieces`, one message each; resolves with the digest the server answered. */
export function put(client: GrpcJsClient, pieces: readonly Uint8Array[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const call = client.put((error, response) => (error ? reject(error) : resolve((response as DigestMessage).digest)));
    for (const data of pieces) call.write({ data });
    call.end();
  });
}

export { grpc };
