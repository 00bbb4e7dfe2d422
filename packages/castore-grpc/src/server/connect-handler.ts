import type * as http from "node:http";
import type * as http2 from "node:http2";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ConnectRouterOptions,
  type ContextValues,
  createConnectRouter,
} from "@connectrpc/connect";
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

export interface ConnectHandlerOptions extends ConnectRouterOptions {
  /** Registers the services. */
  routes(router: ConnectRouter): void;
  /** The context values of a request (how handlers reach the Node request). */
  contextValues?: ((request: Request) => ContextValues) | undefined;
  /** A response that could not be finished because the client went away (a cancelled stream, EPIPE). */
  onClientError(error: unknown): void;
  /** Any other failure to answer a request. */
  onInternalError(error: unknown): void;
}

/**
 * Connect's Node adapter, with its failures reported to the server's own hooks. connect-node's
 * `connectNodeAdapter` does the same routing but prints every failure to write a response with
 * console.error, including the everyday one of a client that cancels a Read mid-stream ("handler
 * for rpc Read … failed: write EPIPE"): noise on the daemon's stderr, outside its JSON log lines.
 */
export function connectHandler(options: ConnectHandlerOptions): (request: Request, response: Response) => void {
  const router = createConnectRouter(options);
  options.routes(router);
  const handlers = new Map(router.handlers.map((handler) => [handler.requestPath, handler]));
  return (request, response) => {
    const handler = handlers.get(request.url?.split("?", 1)[0] ?? "");
    if (!handler) {
      response.statusCode = 404;
      response.end();
      return;
    }
    const universal = universalRequestFromNodeRequest(request, response, undefined, options.contextValues?.(request));
    handler(universal)
      .then((answer) => universalResponseToNodeResponse(answer, response))
      .catch((reason: unknown) => {
        // Connect's own way of saying the call was cut short (the request's signal fired).
        if (ConnectError.from(reason).code === Code.Aborted) return;
        if (clientWentAway(request, response, reason)) options.onClientError(reason);
        else options.onInternalError(reason);
      });
  };
}

/** Error codes of writing to a connection or stream the client has closed or reset. */
const GONE = new Set([
  "EPIPE",
  "ECANCELED",
  "ECONNRESET",
  "ERR_STREAM_DESTROYED",
  "ERR_STREAM_PREMATURE_CLOSE",
  "ERR_STREAM_WRITE_AFTER_END",
  "ERR_HTTP2_INVALID_STREAM",
  "ERR_HTTP2_STREAM_ERROR",
  "ERR_HTTP2_STREAM_CANCEL",
]);

function clientWentAway(request: Request, response: Response, reason: unknown): boolean {
  if (response.destroyed || request.destroyed) return true;
  // Connect wraps the write's error ("[internal] write ECANCELED"): look at the cause too.
  for (let error = reason, depth = 0; error && depth < 4; error = (error as Error).cause, depth++) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && GONE.has(code)) return true;
  }
  return false;
}
