import type * as http2 from "node:http2";

export interface SessionTimeouts {
  /** How long a new connection has to send its first request's headers (after the preface). */
  headersTimeoutMs: number;
  /** How long a connection may stay open with no call on it. */
  idleTimeoutMs: number;
}

/**
 * Closes HTTP/2 sessions that hold a connection without using it: one that has not opened a stream
 * within `headersTimeoutMs` of connecting (a preface and nothing else, or not even a whole preface),
 * and one with no open stream for `idleTimeoutMs`. Node's own session timeout counts any traffic,
 * PINGs included, so a client could keep an unused connection forever.
 */
export function enforceSessionTimeouts(session: http2.ServerHttp2Session, timeouts: SessionTimeouts): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  const closeIdle = () => {
    if (session.destroyed) return;
    // GOAWAY, then the connection closes; a client that ignores it loses the connection anyway.
    if (!session.closed) session.close();
    setTimeout(() => session.destroy(), 1_000).unref();
  };
  const arm = (ms: number) => {
    clearTimeout(timer);
    timer = setTimeout(closeIdle, ms);
    timer.unref();
  };
  arm(timeouts.headersTimeoutMs);
  session.on("stream", (stream: http2.ServerHttp2Stream) => {
    open++;
    clearTimeout(timer);
    stream.once("close", () => {
      if (--open === 0 && !session.destroyed) arm(timeouts.idleTimeoutMs);
    });
  });
  session.once("close", () => clearTimeout(timer));
}
