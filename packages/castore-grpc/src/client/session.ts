import type * as http2 from "node:http2";
import { Http2SessionManager, type Http2SessionOptions } from "@connectrpc/connect-node";
import { type FlowControlOptions, openConnectionWindow, receiveSettings } from "../flow-control.js";

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
