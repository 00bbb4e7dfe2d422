import type * as http from "node:http";
import * as http2 from "node:http2";
import { Code } from "@connectrpc/connect";
import { encodeGrpcMessage } from "../wire/status.js";

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

/** Connect's names of the codes a refusal uses (the Connect protocol's error JSON). */
const connectCodeName: Partial<Record<Code, string>> = {
  [Code.InvalidArgument]: "invalid_argument",
  [Code.PermissionDenied]: "permission_denied",
  [Code.Unauthenticated]: "unauthenticated",
  [Code.ResourceExhausted]: "resource_exhausted",
  [Code.DeadlineExceeded]: "deadline_exceeded",
  [Code.Unavailable]: "unavailable",
  [Code.Internal]: "internal",
};

/**
 * Answers a request the server will not serve, before any handler has seen it, in the protocol the
 * request speaks: gRPC and gRPC-Web get a trailers-only response carrying `code`; anything else
 * (the Connect protocol, plain HTTP) gets `httpStatus` with a Connect error body. The request body
 * is not read: the connection (HTTP/1.1) or stream (HTTP/2) is closed once the answer is out.
 * Without that, an HTTP/2 stream whose client goes on sending (or sends nothing and never ends)
 * would stay open, its state held, until the client ended it or its connection closed. An HTTP/2
 * answer that has not gone out within `giveUpAfterMs` (a client that opens no window never takes a
 * Connect error body) is dropped and its stream reset.
 *
 * `retryAfterMs`, for a refusal that is only "not now" (the server is full), tells clients when to
 * try again: `Retry-After` (whole seconds, rounded up) on the HTTP answer, and gRPC's
 * `grpc-retry-pushback-ms`, which gRPC clients with a retry policy honour.
 */
export function refuse(
  request: Request,
  response: Response,
  code: Code,
  message: string,
  httpStatus: number,
  giveUpAfterMs: number,
  retryAfterMs?: number,
): void {
  if (response.headersSent || response.writableEnded || ("stream" in response && response.stream.destroyed)) {
    response.destroy();
    return;
  }
  const contentType = String(request.headers["content-type"] ?? "");
  const http1 = request.httpVersionMajor < 2;
  // An HTTP/1.1 client may still be sending a body nobody will read: end the connection after the answer.
  if (http1) response.setHeader("connection", "close");
  // HTTP/2: RST_STREAM NO_ERROR after a complete answer tells the client to stop sending its body
  // (RFC 9113 §8.1); the answer, queued first, still reaches it.
  else {
    // The stream's own 'finish': the compatibility response does not emit one for a bodiless end().
    const { stream } = response as http2.Http2ServerResponse;
    stream.once("finish", () => stream.close(http2.constants.NGHTTP2_NO_ERROR));
    const giveUp = setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), giveUpAfterMs).unref();
    stream.once("close", () => clearTimeout(giveUp));
  }
  if (/^application\/grpc/i.test(contentType)) {
    response.statusCode = 200;
    response.setHeader("content-type", contentType.split(";", 1)[0] ?? "application/grpc");
    response.setHeader("grpc-status", String(code));
    response.setHeader("grpc-message", encodeGrpcMessage(message));
    if (retryAfterMs !== undefined) response.setHeader("grpc-retry-pushback-ms", String(retryAfterMs));
    response.end();
    return;
  }
  const body = JSON.stringify({ code: connectCodeName[code] ?? "unknown", message });
  response.statusCode = httpStatus;
  response.setHeader("content-type", "application/json");
  response.setHeader("content-length", Buffer.byteLength(body));
  if (retryAfterMs !== undefined) response.setHeader("retry-after", String(Math.ceil(retryAfterMs / 1000)));
  response.end(body);
}
