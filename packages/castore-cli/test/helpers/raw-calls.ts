// BlobService calls made by hand, one call each, in each protocol the daemon speaks: tests that
// count calls must know exactly which calls were made (a castore client may add a Stat).
import * as http from "node:http";
import * as http2 from "node:http2";

/** A protobuf message with one `bytes` field numbered 1 (ReadBlobRequest, StatBlobRequest, BlobChunk). */
export function bytesField(value: Uint8Array): Uint8Array {
  const length: number[] = [];
  let n = value.length;
  do {
    length.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Buffer.concat([Uint8Array.of(0x0a, ...length), value]);
}

/** A gRPC (and gRPC-Web) length-prefixed message. */
export function frame(message: Uint8Array, flags = 0): Buffer {
  const header = Buffer.alloc(5);
  header[0] = flags;
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

export interface GrpcAnswer {
  /** grpc-status, from the trailers (or a trailers-only header block). */
  status: string | undefined;
  /** The response body, frames and all. */
  body: Buffer;
}

/** One native gRPC call over HTTP/2 to `address` (grpc+http://host:port). */
export function grpcCall(
  address: string,
  path: string,
  messages: readonly Uint8Array[],
  headers: http2.OutgoingHttpHeaders = {},
): Promise<GrpcAnswer> {
  const session = http2.connect(address.replace("grpc+", ""));
  session.on("error", () => {});
  return new Promise<GrpcAnswer>((resolve, reject) => {
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    const chunks: Buffer[] = [];
    let status: string | undefined;
    stream.on("response", (head) => {
      if (head["grpc-status"] !== undefined) status = String(head["grpc-status"]);
    });
    stream.on("trailers", (trailers) => {
      status = String(trailers["grpc-status"]);
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("close", () => resolve({ status, body: Buffer.concat(chunks) }));
    stream.end(Buffer.concat(messages.map((message) => frame(message))));
  }).finally(() => session.close());
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP/1.1 request (Connect, gRPC-Web, or the metrics listener), Host header and all as given. */
export function http1Request(
  url: string,
  options: { method?: string; headers?: http.OutgoingHttpHeaders; body?: Uint8Array | string } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: options.method ?? "GET", headers: options.headers, agent: false });
    request.on("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
      );
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end(options.body);
  });
}

/** The origin (http://host:port) of a daemon address grpc+http://host:port. */
export function originOf(address: string): string {
  return address.replace("grpc+", "");
}
