import type * as http from "node:http";
import * as http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ByteBudget, FreeAllowance } from "./byte-budget.js";
import { StallWatch } from "./request-watch.js";

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

/** The limits one call runs under, set up by the server for every request it accepts. */
export interface CallLimits {
  /** Fires (with a DEADLINE_EXCEEDED ConnectError) when the request body stalled. */
  readonly signal: AbortSignal;
  readonly stall: StallWatch;
  /** The server's budget for the bytes calls buffer. */
  readonly budget: ByteBudget;
  /** The free bytes of the call's connection (see FreeAllowance). */
  readonly allowance: FreeAllowance;
  /** A call that ends itself when `signal` fires says so; the body of any other request is cut off. */
  claim(): void;
}

const limitsOf = new WeakMap<Request, CallLimits>();

export function watchCall(
  request: Request,
  response: Response,
  stalledBodyTimeoutMs: number,
  budget: ByteBudget,
  allowance: FreeAllowance,
  onStalled?: (reason: "stalled-body") => void,
  { wholeBody = false } = {},
): CallLimits {
  const controller = new AbortController();
  let claimed = false;
  const stall = new StallWatch(
    request,
    stalledBodyTimeoutMs,
    () => {
      onStalled?.("stalled-body");
      controller.abort(
        new ConnectError(
          wholeBody
            ? `the request did not arrive whole within ${stalledBodyTimeoutMs} ms`
            : `no bytes of the request arrived for ${stalledBodyTimeoutMs} ms`,
          Code.DeadlineExceeded,
        ),
      );
      // A call that ends itself answers first (a second at most); the rest of its body is then not
      // waited for either. (Connect over HTTP/1.1 holds its answer until the body ends: cut off.)
      if (!claimed || response.writableFinished) {
        cutOff(request);
        return;
      }
      const grace = setTimeout(() => cutOff(request), 1_000);
      grace.unref();
      response.once("finish", () => {
        clearTimeout(grace);
        cutOff(request);
      });
    },
    { wholeBody },
  );
  const limits: CallLimits = { signal: controller.signal, stall, budget, allowance, claim: () => (claimed = true) };
  limitsOf.set(request, limits);
  return limits;
}

/** The limits of a request the server accepted (undefined for one it did not set up, which is a bug). */
export function callLimits(request: Request): CallLimits | undefined {
  return limitsOf.get(request);
}

/**
 * Ends a call whose answer its client stopped taking: resets its stream (HTTP/2), or closes its
 * connection (HTTP/1.1, where nothing else stops a response half-way). What waits to be sent goes.
 */
export function abandonResponse(request: Request): void {
  if (request instanceof http2.Http2ServerRequest) {
    if (!request.stream.destroyed) request.stream.close(http2.constants.NGHTTP2_CANCEL);
  } else {
    request.socket.destroy();
  }
}

/** Ends a request whose handler cannot be told to stop: resets its stream, or closes its connection. */
function cutOff(request: Request): void {
  if (request.complete) return;
  if (request instanceof http2.Http2ServerRequest) {
    if (!request.stream.destroyed) request.stream.close(http2.constants.NGHTTP2_CANCEL);
  } else {
    request.socket.destroy();
  }
}

/**
 * The signal of a `grpc-timeout` header (gRPC over HTTP/2: 1 to 8 digits and a unit), firing with a
 * DEADLINE_EXCEEDED ConnectError; undefined without the header. A malformed value is INVALID_ARGUMENT.
 */
export function grpcTimeoutSignal(
  header: string | string[] | undefined,
): { signal: AbortSignal; clear: () => void } | undefined {
  if (header === undefined) return undefined;
  const match = /^(\d{1,8})([HMSmun])$/.exec(Array.isArray(header) ? (header[0] ?? "") : header);
  if (!match) throw new ConnectError(`malformed grpc-timeout ${JSON.stringify(header)}`, Code.InvalidArgument);
  const unitMs = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000001 }[match[2] as "H"];
  const ms = Math.min(Math.ceil(Number(match[1]) * unitMs), 2 ** 31 - 1);
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new ConnectError("the call's deadline passed", Code.DeadlineExceeded)),
    ms,
  );
  timer.unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
