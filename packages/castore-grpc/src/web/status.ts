import { Code, ConnectError } from "@connectrpc/connect";
import type { CastoreError } from "castore-core";
import { fromConnectError } from "../wire/status.js";

/**
 * The castore error for a failed call of the browser client. connect-web reports a request fetch
 * could not send at all (server down, DNS failure, refused connection, a CORS refusal — the page
 * cannot tell these apart: Chromium says "Failed to fetch", Node's fetch "fetch failed") as UNKNOWN
 * with the fetch TypeError as cause; it means the server is unreachable, so it is UNAVAILABLE here,
 * as it is for the Node client.
 */
export function fromWebError(error: unknown, call: string): CastoreError {
  if (error instanceof ConnectError && error.code === Code.Unknown && isFetchFailure(error.cause)) {
    const unavailable = new ConnectError(
      `server unreachable (${error.rawMessage})`,
      Code.Unavailable,
      undefined,
      undefined,
      error,
    );
    return fromConnectError(unavailable, call);
  }
  return fromConnectError(error, call);
}

/** fetch rejects with a TypeError when the request could not be made (RFC: "network error"). */
function isFetchFailure(cause: unknown): boolean {
  return cause instanceof TypeError;
}
