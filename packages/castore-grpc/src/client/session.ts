import type * as http2 from "node:http2";
import { Http2SessionManager, type Http2SessionOptions } from "@connectrpc/connect-node";

/** HTTP/2 flow-control windows a receiver opens (DESIGN.md §6). */
export interface FlowControlOptions {
  /** Per-stream receive window (SETTINGS_INITIAL_WINDOW_SIZE). Default 8 MiB. */
  streamWindowBytes?: number | undefined;
  /** Connection-wide receive window. Default 32 MiB. */
  connectionWindowBytes?: number | undefined;
}

export const DEFAULT_STREAM_WINDOW_BYTES = 8 << 20;
export const DEFAULT_CONNECTION_WINDOW_BYTES = 32 << 20;

/**
 * HTTP/2 settings for a receiver: Node's defaults (a 64 KiB window) cap one stream at a fraction
 * of loopback speed, because the sender stalls waiting for WINDOW_UPDATE frames.
 */
export function receiveSettings(flow: FlowControlOptions | undefined): http2.Settings {
  return { initialWindowSize: flow?.streamWindowBytes ?? DEFAULT_STREAM_WINDOW_BYTES };
}

/** Opens the connection-wide window of a session (only possible once it is connected). */
export function openConnectionWindow(session: http2.Http2Session, flow: FlowControlOptions | undefined): void {
  session.setLocalWindowSize(flow?.connectionWindowBytes ?? DEFAULT_CONNECTION_WINDOW_BYTES);
}

/**
 * Connect's HTTP/2 session manager (connects lazily, reconnects after GOAWAY or errors, closes idle
 * connections), with the receive windows opened on every session it creates.
 */
export class WindowedSessionManager extends Http2SessionManager {
  readonly #flow: FlowControlOptions | undefined;
  readonly #opened = new WeakSet<http2.ClientHttp2Session>();

  constructor(
    baseUrl: string,
    nodeOptions: http2.ClientSessionOptions | http2.SecureClientSessionOptions,
    flow?: FlowControlOptions,
    sessionOptions?: Http2SessionOptions,
  ) {
    super(baseUrl, sessionOptions, {
      ...nodeOptions,
      settings: { ...nodeOptions.settings, ...receiveSettings(flow) },
    });
    this.#flow = flow;
  }

  override async request(
    method: string,
    path: string,
    headers: http2.OutgoingHttpHeaders,
    options: Omit<http2.ClientSessionRequestOptions, "signal">,
  ): Promise<http2.ClientHttp2Stream> {
    const stream = await super.request(method, path, headers, options);
    const session = stream.session as http2.ClientHttp2Session | undefined;
    if (session && !this.#opened.has(session)) {
      this.#opened.add(session);
      openConnectionWindow(session, this.#flow);
    }
    return stream;
  }
}
