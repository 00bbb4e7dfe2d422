import type * as http2 from "node:http2";
import { MAX_WINDOW_BYTES, positiveInteger } from "./options.js";

/** HTTP/2 flow-control windows a receiver opens (docs/design.md §6). */
export interface FlowControlOptions {
  /** Per-stream receive window (SETTINGS_INITIAL_WINDOW_SIZE). Default 8 MiB. */
  streamWindowBytes?: number | undefined;
  /** Connection-wide receive window. Default 32 MiB. */
  connectionWindowBytes?: number | undefined;
}

export const DEFAULT_STREAM_WINDOW_BYTES = 8 << 20;
export const DEFAULT_CONNECTION_WINDOW_BYTES = 32 << 20;

/** Checks the windows are integers HTTP/2 can announce (InvalidArgument otherwise). */
export function checkFlowControlOptions(flow: FlowControlOptions): void {
  positiveInteger("streamWindowBytes", flow.streamWindowBytes, MAX_WINDOW_BYTES);
  positiveInteger("connectionWindowBytes", flow.connectionWindowBytes, MAX_WINDOW_BYTES);
}

/**
 * HTTP/2 settings for a receiver. Node's defaults (64 KiB windows) cap one stream at a fraction of
 * loopback speed: the sender stalls waiting for WINDOW_UPDATE frames.
 */
export function receiveSettings(flow?: FlowControlOptions): http2.Settings {
  return { initialWindowSize: flow?.streamWindowBytes ?? DEFAULT_STREAM_WINDOW_BYTES };
}

/** Opens the connection-wide window of a session (possible only once it is connected). */
export function openConnectionWindow(session: http2.Http2Session, flow?: FlowControlOptions): void {
  session.setLocalWindowSize(flow?.connectionWindowBytes ?? DEFAULT_CONNECTION_WINDOW_BYTES);
}
