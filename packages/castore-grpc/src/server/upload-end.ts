import type * as http from "node:http";
import * as http2 from "node:http2";
import { AbortedError, ClosedError } from "castore-core";

/**
 * The end-of-upload barrier every Put path (native gRPC, Connect, gRPC-Web) passes before its
 * writer commits (docs/design.md §5: a Put whose client disconnects or cancels stores nothing).
 *
 * Node clients (grpc-js, Connect) cancel a call by ending the request stream and resetting it right
 * after, so an upload cancelled midway looks finished for a moment; neither gRPC nor the Connect
 * protocol marks the end of a request stream other than by END_STREAM. Over HTTP/2 the server
 * therefore sends a frame the client must acknowledge and waits for the acknowledgement, which
 * comes after any reset the client sent before it; then only a stream that really ended (and was
 * not reset) completes the blob. The frame is an empty SETTINGS rather than a PING: Node refuses
 * PINGs on a session that is closing, and every graceful shutdown closes them (a client answers the
 * server's GOAWAY with its own), yet Puts running then must still complete.
 *
 * One round trip is not enough with Node clients: while a socket write is in progress, Node holds a
 * RST_STREAM back until it completes, and nghttp2 sends a SETTINGS acknowledgement ahead of other
 * frames; so the first acknowledgement can overtake a reset the client had already decided on (about
 * 2% of Puts cancelled 0-50 ms after their last message were stored that way). The second
 * acknowledgement answers a frame sent only after the first arrived: the write that carried the first
 * has completed by then, and a reset held back behind it has gone out before. Hence: END_STREAM
 * received with the stream open, two round trips, the stream still open; only then does the blob commit.
 *
 * When no acknowledgement can come (the connection is gone) the end cannot be confirmed, so nothing is
 * stored: the Put fails with Closed (UNAVAILABLE, which clients retry). Node's compatibility layer
 * also ends a request cleanly when the stream is reset, hence the explicit checks.
 *
 * Over HTTP/1.1 a request body only ends cleanly at its declared length or final chunk; a client
 * that goes away mid-body makes the body fail, so checking that the message is complete is enough there.
 */
export async function confirmUploadEnded(request: http.IncomingMessage | http2.Http2ServerRequest): Promise<void> {
  if (request instanceof http2.Http2ServerRequest) {
    const stream = request.stream;
    const reset = () => request.aborted || stream.destroyed || stream.closed;
    let answered = false;
    for (let trip = 0; trip < 2 && !reset(); trip++) {
      answered = stream.session ? await roundTrip(stream.session) : false;
      if (!answered) break;
    }
    if (reset()) throw new AbortedError("the client cancelled the upload");
    if (!answered) throw new ClosedError("the connection is closing: the end of the upload could not be confirmed");
    return;
  }
  if (!request.complete) throw new AbortedError("the client cancelled the upload");
}

/**
 * One acknowledged frame at a time per session, shared by the uploads waiting on it. Node allows
 * few unacknowledged SETTINGS (and PINGs) per session (10 by default) and refuses more, so one
 * each would leave the rest unconfirmed when many uploads end together. Uploads that end while a
 * frame is out wait for the next one (the one out may have left before their end arrived).
 */
class AckQueue {
  readonly #session: http2.Http2Session;
  #inFlight = false;
  #next: Array<(acknowledged: boolean) => void> = [];

  constructor(session: http2.Http2Session) {
    this.#session = session;
  }

  /** Resolves true once the peer acknowledged a frame sent after this call, false if none will be. */
  roundTrip(): Promise<boolean> {
    return new Promise((resolve) => {
      this.#next.push(resolve);
      if (!this.#inFlight) this.#send();
    });
  }

  #send(): void {
    const batch = this.#next;
    this.#next = [];
    this.#inFlight = true;
    let settled = false;
    const settle = (acknowledged: boolean) => {
      if (settled) return;
      settled = true;
      this.#inFlight = false;
      for (const resolve of batch) resolve(acknowledged);
      if (this.#next.length > 0) this.#send();
    };
    if (this.#session.destroyed) {
      settle(false);
      return;
    }
    try {
      // An empty SETTINGS frame changes nothing; the callback fails if the session goes first.
      this.#session.settings({}, (error) => settle(!error));
    } catch {
      settle(false);
    }
  }
}

const queues = new WeakMap<http2.Http2Session, AckQueue>();

function roundTrip(session: http2.Http2Session): Promise<boolean> {
  let queue = queues.get(session);
  if (!queue) {
    queue = new AckQueue(session);
    queues.set(session, queue);
  }
  return queue.roundTrip();
}
