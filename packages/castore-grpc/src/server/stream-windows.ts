import type * as http2 from "node:http2";

/** The per-stream window a session starts with: a client cannot make the server buffer more per stream before it has seen how many streams share the session's allowance. */
export const INITIAL_STREAM_WINDOW_BYTES = 16 << 10;

/**
 * Shares a session's allowance of buffered bytes among its open streams by resizing the HTTP/2
 * stream window (SETTINGS_INITIAL_WINDOW_SIZE) as streams open and close. Node acknowledges a
 * connection's DATA as it arrives but a stream's only as it is read, so whatever a stream's window
 * allows, a client can make the server hold for each stream it opens: with 100 streams of 8 MiB,
 * 800 MiB per connection. Here a lone stream gets the full `maxStreamWindow` (after one round trip),
 * many share `allowanceBytes`, never less than the initial 16 KiB each. One SETTINGS frame is out
 * at a time (Node refuses more than a few unacknowledged ones).
 */
export function shareStreamWindows(
  session: http2.ServerHttp2Session,
  allowanceBytes: number,
  maxStreamWindow: number,
): void {
  let open = 0;
  let current = INITIAL_STREAM_WINDOW_BYTES;
  let sending = false;
  const update = (): void => {
    if (sending || session.destroyed || session.closed) return;
    const target = Math.max(
      INITIAL_STREAM_WINDOW_BYTES,
      Math.min(maxStreamWindow, Math.floor(allowanceBytes / Math.max(1, open))),
    );
    if (target === current) return;
    current = target;
    sending = true;
    try {
      session.settings({ initialWindowSize: target }, () => {
        sending = false;
        update();
      });
    } catch {
      sending = false;
    }
  };
  session.on("stream", (stream: http2.ServerHttp2Stream) => {
    open++;
    update();
    stream.once("close", () => {
      open--;
      update();
    });
  });
}
