import * as http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { raceAbort } from "castore-core/backend";
import { GRPC_PROTO_CONTENT_TYPE } from "../wire/content-type.js";
import { ReceivedBatches } from "../wire/received-batches.js";
import { decodeGrpcMessage, ERROR_CODE_METADATA } from "../wire/status.js";
import { startClientSpan } from "../wire/trace-context.js";
import type { WindowedSessionManager } from "./session.js";

const USER_AGENT = "castore-grpc";
/**
 * How much of a response may wait unread before the stream is paused (and HTTP/2 flow control
 * stops the server): a few 1 MiB messages, well inside the 8 MiB stream window.
 */
const RESPONSE_HIGH_WATER_BYTES = 4 << 20;

/**
 * One gRPC call on one HTTP/2 stream, for the blob streams (Read and Put) whose bytes castore
 * frames itself (see wire/frames.ts): request bytes go out as they are given, response bytes come
 * back as they arrive, and the call's outcome is the grpc-status the server sends last. Every
 * failure surfaces as a ConnectError carrying a gRPC code; the server's status wins over the
 * transport errors that follow it (a reset stream, a failed write).
 */
export class GrpcClientCall {
  readonly #sessions: WindowedSessionManager;
  readonly #stream: http2.ClientHttp2Stream;
  /** The connection the call runs on (kept: a destroyed stream forgets it). */
  readonly #session: http2.ClientHttp2Session | undefined;
  /** Resets the stream. */
  readonly #reset: AbortController;
  /** Resolves once the response headers arrived and were valid. */
  readonly #headers: Promise<void>;
  /** Resolves when the trailers arrive or the stream closes, whichever is first. */
  readonly #trailersOrClose: Promise<void>;
  /** The call's status: undefined until the server sent one, null for OK. */
  #status: ConnectError | null | undefined;
  /** Why the response headers were refused when they carried no status (not gRPC: a proxy's 502). */
  #headersError: ConnectError | undefined;
  #transportError: unknown;
  #cancelled = false;
  /** Told the call's status code once it is known (its span ends then); called once. */
  #onSettled: ((code: number) => void) | undefined;

  private constructor(sessions: WindowedSessionManager, stream: http2.ClientHttp2Stream, reset: AbortController) {
    this.#sessions = sessions;
    this.#stream = stream;
    this.#session = stream.session as http2.ClientHttp2Session | undefined;
    this.#reset = reset;
    // Node emits 'error' for resets and socket failures; without a listener it would crash the process.
    stream.on("error", (error) => {
      this.#transportError ??= error;
    });
    this.#trailersOrClose = new Promise<void>((resolve) => {
      stream.on("trailers", (trailers) => {
        if (this.#status === undefined) this.#status = statusOf(trailers);
        this.#settle();
        resolve();
      });
      stream.once("close", () => {
        this.#settle();
        resolve();
      });
    });
    this.#headers = new Promise<void>((resolve, reject) => {
      stream.once("response", (headers) => {
        try {
          this.#checkHeaders(headers);
          resolve();
        } catch (error) {
          this.#headersError ??= ConnectError.from(error);
          reject(error);
          this.#abandon();
        }
      });
      stream.once("close", () => reject(this.#failure()));
    });
    this.#headers.catch(() => {}); // observed by body(); a call nobody reads must not warn
  }

  /** Starts a call to `path`. Connects first if needed; `signal` cancels the call at any time. */
  static async open(
    sessions: WindowedSessionManager,
    path: string,
    signal: AbortSignal | undefined,
    extraHeaders: Readonly<Record<string, string>> = {},
  ): Promise<GrpcClientCall> {
    // Cancelling through the request's own signal resets the stream (RST_STREAM CANCEL) without
    // ending it first. stream.close() would send END_STREAM before the reset, and a server may
    // rightly take a Put whose request ended for a complete upload.
    const reset = new AbortController();
    // Connect's Http2SessionManager.request types its options without `signal` (Connect cancels
    // its own calls otherwise), but hands them to node's session.request unchanged, where the
    // signal destroys the stream with an AbortError: RST_STREAM CANCEL, nothing before it. The
    // cast relies on that pass-through (connect-node 2.3.0, pinned exactly in pnpm-workspace.yaml for it): without it cancel() would do nothing,
    // and cancel.test.ts's writer-abort cases fail (the server waits for the rest of the upload).
    const options = { signal: reset.signal } as Omit<http2.ClientSessionRequestOptions, "signal">;
    const headers: http2.OutgoingHttpHeaders = {
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-accept-encoding": "identity",
      "user-agent": USER_AGENT,
      ...extraHeaders,
    };
    const endSpan = startClientSpan(path, (key, value) => {
      headers[key] = value;
    });
    const requested = sessions.request("POST", path, headers, options);
    requested.then(
      () => {
        if (signal?.aborted) reset.abort();
      },
      () => {},
    );
    let stream: http2.ClientHttp2Stream;
    try {
      stream = await raceAbort(requested, signal);
    } catch (error) {
      endSpan(ConnectError.from(error).code);
      throw error;
    }
    const call = new GrpcClientCall(sessions, stream, reset);
    // Ended as soon as the status is known: a command may finish (and stop exporting) before the stream closes.
    call.#onSettled = endSpan;
    if (signal) {
      const cancel = () => call.cancel();
      signal.addEventListener("abort", cancel, { once: true });
      call.#stream.once("close", () => signal.removeEventListener("abort", cancel));
      if (signal.aborted) call.cancel();
    }
    return call;
  }

  /**
   * Sends bytes; resolves once HTTP/2 has written the last of them to the connection, so the
   * caller may then reuse its buffers (nothing is copied on the way).
   */
  write(parts: readonly Uint8Array[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const last = parts.length - 1;
      parts.forEach((part, i) => {
        if (i < last) this.#stream.write(part);
        else this.#stream.write(part, (error) => (error ? reject(this.#failure(error)) : resolve()));
      });
    });
  }

  /** Ends the request stream (the server then sees the end of the client's messages). */
  closeRequest(): void {
    if (!this.#stream.writableEnded) this.#stream.end();
  }

  /** Cancels the call (RST_STREAM CANCEL): the server sees CANCELLED. Idempotent. */
  cancel(): void {
    this.#cancelled = true;
    this.#reset.abort();
  }

  /**
   * The response bytes as they arrive. Ends cleanly only if the server's status is OK; otherwise
   * throws the status (or the transport failure) as a ConnectError.
   */
  async *body(): AsyncGenerator<Uint8Array> {
    for await (const batch of this.batches()) yield* batch;
  }

  /**
   * The response bytes as they arrive, in batches (everything received since the last one; see
   * ReceivedBatches): what a consumer of a large response iterates, with one wake-up per batch
   * rather than per DATA frame. Ends and fails as `body()` does.
   */
  async *batches(): AsyncGenerator<Uint8Array[]> {
    await this.#headers;
    let finished = false;
    try {
      for await (const batch of new ReceivedBatches(this.#stream, RESPONSE_HIGH_WATER_BYTES)) {
        // For the session's keepalive: bytes arrived, so the connection is alive.
        this.#sessions.notifyResponseByteRead(this.#stream);
        yield batch;
      }
      // Node can report the end of the data before the trailers, which carry the status.
      if (this.#status === undefined) await this.#trailersOrClose;
      finished = true;
    } catch (error) {
      finished = true;
      throw this.#failure(error);
    } finally {
      // A consumer that stops early (break, error) ends the call instead of leaving the stream open.
      if (!finished) this.cancel();
    }
    if (this.#status === undefined) throw this.#failure();
    if (this.#status !== null) throw this.#status;
  }

  #checkHeaders(headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader): void {
    const httpStatus = headers[":status"] ?? 0;
    if (httpStatus !== 200) throw new ConnectError(`HTTP status ${httpStatus}`, codeOfHttpStatus(httpStatus));
    const type = headers["content-type"] ?? "";
    if (!GRPC_PROTO_CONTENT_TYPE.test(type)) {
      throw new ConnectError(`unexpected response content type ${JSON.stringify(type)}`, Code.Unknown);
    }
    const encoding = headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") {
      throw new ConnectError(
        `response uses encoding ${JSON.stringify(encoding)}, which was not offered`,
        Code.Internal,
      );
    }
    // A "trailers-only" response carries the status in the headers (and has no body).
    if (headers["grpc-status"] !== undefined) {
      this.#status = statusOf(headers);
      this.#settle();
      if (this.#status) throw this.#status;
    }
  }

  /**
   * Lets go of a call whose response was refused (an error status in the headers, or headers that
   * are not gRPC): no body will be read, yet Node closes a stream only once its response has been
   * read to the end, and a request still being sent (a Put the server turned away) would wait on
   * it for ever. The rest of the response is discarded, and the stream reset if its request is
   * still being sent; the call fails with the server's status (or why the headers were refused).
   */
  #abandon(): void {
    this.#stream.resume();
    // A request sent to its end (a Read, a Stat) waits on nothing: the stream closes by itself.
    if (!this.#stream.closed && !this.#stream.writableEnded) this.#reset.abort();
  }

  /** Reports the call's status code (the server's, or why it has none) the first time it is known. */
  #settle(): void {
    const onSettled = this.#onSettled;
    if (!onSettled) return;
    this.#onSettled = undefined;
    onSettled(this.#status === null ? 0 : this.#failure().code);
  }

  /** Why the call failed: the server's error status if it sent one, else what broke the stream. */
  #failure(cause?: unknown): ConnectError {
    if (this.#status) return this.#status;
    if (this.#headersError) return this.#headersError;
    if (this.#cancelled) return new ConnectError("the call was cancelled", Code.Canceled);
    const error = cause ?? this.#transportError;
    const rstCode = this.#stream.rstCode;
    const detail = error instanceof Error ? `: ${error.message}` : rstCode ? ` (HTTP/2 error code ${rstCode})` : "";
    // Node resets every stream of a connection that goes away with CANCEL, as if the call had been
    // cancelled; it was not (only ours is, above): the connection was lost, and a retry may succeed.
    // A server that resets a stream without sending a status has not answered either.
    const session = this.#session;
    if (!session || session.destroyed || session.closed) {
      return new ConnectError(`connection lost${detail}`, Code.Unavailable, undefined, undefined, error);
    }
    if (rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) {
      return new ConnectError("the server refused the stream", Code.Unavailable, undefined, undefined, error);
    }
    return new ConnectError(
      `the stream ended before the server sent a status${detail}`,
      Code.Unavailable,
      undefined,
      undefined,
      error,
    );
  }
}

/** The status in a trailer (or trailers-only header) block: null for OK. */
function statusOf(headers: http2.IncomingHttpHeaders): ConnectError | null {
  const raw = headers["grpc-status"];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) return new ConnectError("the server sent no grpc-status", Code.Internal);
  const code = Number(value);
  if (value === "0") return null; // OK (Connect's Code has no member for it)
  if (!/^\d+$/.test(value) || Code[code] === undefined) {
    // gRPC: a status a client does not know is UNKNOWN.
    return new ConnectError(`the server sent an unknown grpc-status ${JSON.stringify(value)}`, Code.Unknown);
  }
  const message = headers["grpc-message"];
  const kind = headers[ERROR_CODE_METADATA];
  const metadata = typeof kind === "string" ? { [ERROR_CODE_METADATA]: kind } : undefined;
  return new ConnectError(decodeGrpcMessage(Array.isArray(message) ? message[0] : message), code, metadata);
}

/** gRPC's mapping of HTTP statuses from servers or proxies that did not speak gRPC. */
function codeOfHttpStatus(status: number): Code {
  switch (status) {
    case 400:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}
