// Many BlobService calls held open against a daemon, as the abuse and flood benches send them.
import * as http2 from "node:http2";

/** The daemon's streams per connection (its default --max-concurrent-streams). */
const STREAMS_PER_CONNECTION = 100;

/**
 * Starts `count` native gRPC calls of `method` at `origin` (http://host:port), 100 per connection
 * opened with HTTP/2 `settings`, and hands each stream to `start` to send what it will. Returns the
 * connections, for the caller to close.
 */
export function holdCalls(origin, count, method, settings, start) {
  const sessions = [];
  for (let i = 0; i < Math.ceil(count / STREAMS_PER_CONNECTION); i++) {
    const session = http2.connect(origin, { settings });
    session.on("error", () => {});
    sessions.push(session);
    for (let s = 0; s < Math.min(STREAMS_PER_CONNECTION, count - i * STREAMS_PER_CONNECTION); s++) {
      const stream = session.request({
        ":method": "POST",
        ":path": `/tvix.castore.v1.BlobService/${method}`,
        "content-type": "application/grpc",
        te: "trailers",
      });
      stream.on("error", () => {});
      start(stream);
    }
  }
  return sessions;
}
