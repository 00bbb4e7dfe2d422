import type * as http from "node:http";
import * as http2 from "node:http2";
import { Code } from "@connectrpc/connect";
import { B3Digest } from "castore-core";
import { PROTO_PACKAGES } from "../protocol.js";
import type { CallObserver, CallProtocol, ServerObserver } from "./observer.js";

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

/** The methods a server serves, by service: the only names a call is reported under. */
const SERVED_METHODS = new Map<string, ReadonlySet<string>>([
  ...PROTO_PACKAGES.map((p) => [`${p}.BlobService`, new Set(["Read", "Put", "Stat"])] as const),
  ["castore.v1.BlobUploadService", new Set(["CommitChunked"])],
  ["grpc.health.v1.Health", new Set(["Check", "Watch"])],
]);

/**
 * What the handlers learn of one observed call (its status, the blob bytes it moved, its digest),
 * reported to its CallObserver when the response closes. Only calls of a server with an observer
 * have one: handlers look it up with {@link callRecord} and skip all of this when there is none.
 */
export class CallRecord {
  bytesReceived = 0;
  bytesSent = 0;
  #digest: Uint8Array | B3Digest | undefined;
  #code: number | undefined;

  /** The call's status: the first one told wins (a handler's, before any fallback). */
  setCode(code: number): void {
    this.#code ??= code;
  }

  get code(): number | undefined {
    return this.#code;
  }

  /** The blob the call is about (bytes as received: validated only when reported). */
  setDigest(digest: Uint8Array | B3Digest): void {
    this.#digest = digest;
  }

  get digest(): string | undefined {
    const digest = this.#digest;
    if (digest instanceof B3Digest) return digest.toString();
    return digest?.length === 32 ? B3Digest.fromBytes(digest).toString() : undefined;
  }
}

const records = new WeakMap<Request, CallRecord>();

/** The record of an observed call; undefined when the server has no observer (or it declined). */
export function callRecord(request: Request): CallRecord | undefined {
  return records.get(request);
}

/**
 * Starts observing a request that reached the handlers: asks the observer, and if it watches,
 * reports the call's end when its response closes. Returns the call's observer (for its `run`).
 */
export function observeCall(
  observer: ServerObserver,
  request: Request,
  response: Response,
  onObserverError: (error: unknown) => void,
): CallObserver | undefined {
  const started = performance.now();
  const [service, method] = servedName(request.url);
  let watcher: CallObserver | undefined;
  try {
    watcher = observer.callStarted?.({ service, method, protocol: protocolOf(request), headers: request.headers });
  } catch (error) {
    onObserverError(error);
  }
  if (!watcher) return undefined;
  const record = new CallRecord();
  records.set(request, record);
  if (response instanceof http2.Http2ServerResponse) captureTrailerStatus(response, record);
  response.once("close", () => {
    const code = record.code ?? fallbackCode(response);
    try {
      watcher.ended({
        code,
        status: statusName(code),
        durationMs: performance.now() - started,
        bytesReceived: record.bytesReceived,
        bytesSent: record.bytesSent,
        digest: record.digest,
      });
    } catch (error) {
      onObserverError(error);
    }
  });
  return watcher;
}

/** `[service, method]` of a request path the server serves, `["unknown", "unknown"]` otherwise. */
function servedName(url: string | undefined): [string, string] {
  const match = /^\/([^/?]+)\/([^/?]+)(?:\?|$)/.exec(url ?? "");
  const service = match?.[1] ?? "";
  const method = match?.[2] ?? "";
  return SERVED_METHODS.get(service)?.has(method) ? [service, method] : ["unknown", "unknown"];
}

function protocolOf(request: Request): CallProtocol {
  const type = String(request.headers["content-type"] ?? "").toLowerCase();
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/** gRPC statuses sent by Connect itself (errors before a handler ran) show in the trailers. */
function captureTrailerStatus(response: http2.Http2ServerResponse, record: CallRecord): void {
  const addTrailers = response.addTrailers.bind(response);
  response.addTrailers = (trailers: http2.OutgoingHttpHeaders) => {
    const status = Number(trailers["grpc-status"]);
    if (Number.isInteger(status)) record.setCode(status);
    addTrailers(trailers);
  };
}

/** The status of a call no handler reported: a trailers-only answer's, the HTTP status's, or CANCELLED. */
function fallbackCode(response: Response): number {
  const grpcStatus = Number(response.getHeader("grpc-status"));
  if (Number.isInteger(grpcStatus)) return grpcStatus;
  if (!response.writableFinished) return Code.Canceled;
  return codeOfHttpStatus[response.statusCode] ?? Code.Unknown;
}

/** The Connect protocol's HTTP statuses for the codes (an error Connect sent before a handler ran). */
const codeOfHttpStatus: Record<number, number> = {
  400: Code.InvalidArgument,
  401: Code.Unauthenticated,
  403: Code.PermissionDenied,
  404: Code.Unimplemented,
  408: Code.DeadlineExceeded,
  409: Code.Aborted,
  412: Code.FailedPrecondition,
  413: Code.ResourceExhausted,
  415: Code.Internal,
  429: Code.Unavailable,
  499: Code.Canceled,
  501: Code.Unimplemented,
  503: Code.Unavailable,
  504: Code.DeadlineExceeded,
};

/** `OK`, `NOT_FOUND`, … (gRPC's canonical names); `UNKNOWN` for a number gRPC does not define. */
export function statusName(code: number): string {
  if (code === 0) return "OK";
  const name = Code[code] as string | undefined;
  return name ? name.replace(/(?<=[a-z])(?=[A-Z])/g, "_").toUpperCase() : "UNKNOWN";
}
