import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import { trace } from "@opentelemetry/api";
import type { ServerObserver } from "castore-grpc";
import type { LogFields, Logger } from "../logger.js";

/**
 * Gives every call the daemon serves an id, and every log line written while serving it that id
 * (`"call"`): the call's trace id when tracing is on (so a log line leads to its trace), otherwise
 * an id unique to this daemon's run. At debug, each call also ends with one line saying how it went.
 */
export class RequestIds {
  readonly #current = new AsyncLocalStorage<string>();
  /** Ids without tracing: a prefix random per run, then a counter (cheaper than randomness per call). */
  readonly #prefix = randomBytes(4).toString("hex");
  #next = 0;

  /** The fields a log line written now gets: the id of the call being served, if any. */
  fields = (): LogFields | undefined => {
    const id = this.#current.getStore();
    return id === undefined ? undefined : { call: id };
  };

  /**
   * The observer that runs each call with its id. Put it after a tracing observer (whose span is
   * then active here) so that the trace id is used.
   */
  observer(logger: Logger): ServerObserver {
    return {
      callStarted: (call) => {
        let id: string | undefined;
        return {
          run: (handle) => {
            const span = trace.getActiveSpan();
            id = span?.isRecording() ? span.spanContext().traceId : `${this.#prefix}-${(this.#next++).toString(16)}`;
            return this.#current.run(id, handle);
          },
          ended: (end) => {
            if (!logger.enabled("debug")) return;
            logger.debug("call", {
              call: id,
              rpc: `${call.service}/${call.method}`,
              protocol: call.protocol,
              status: end.status,
              ms: Math.round(end.durationMs * 10) / 10,
              ...(end.bytesReceived > 0 ? { received: end.bytesReceived } : {}),
              ...(end.bytesSent > 0 ? { sent: end.bytesSent } : {}),
              ...(end.digest ? { digest: end.digest } : {}),
            });
          },
        };
      },
    };
  }
}
