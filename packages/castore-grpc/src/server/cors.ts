import type * as http from "node:http";
import type * as http2 from "node:http2";
import { cors } from "@connectrpc/connect";

/** Which web origins may call the server from a browser (gRPC-Web, Connect). */
export interface CorsOptions {
  /** "*" for any origin, or the exact origins, e.g. ["https://app.example"]. */
  allowedOrigins: "*" | readonly string[];
}

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

/**
 * Adds the CORS headers Connect's protocols need to a request from an allowed origin, and answers
 * its preflight. Returns true when the request has been answered (a preflight).
 */
export function applyCors(request: Request, response: Response, options: CorsOptions): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  if (options.allowedOrigins !== "*" && !options.allowedOrigins.includes(origin)) return false;
  response.setHeader("access-control-allow-origin", origin);
  response.setHeader("vary", "Origin");
  if (request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined) {
    response.setHeader("access-control-allow-methods", cors.allowedMethods.join(", "));
    response.setHeader("access-control-allow-headers", cors.allowedHeaders.join(", "));
    response.setHeader("access-control-max-age", "7200");
    response.statusCode = 204;
    response.end();
    return true;
  }
  response.setHeader("access-control-expose-headers", cors.exposedHeaders.join(", "));
  return false;
}
