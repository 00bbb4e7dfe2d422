import { context, propagation, SpanKind, type Tracer, trace } from "@opentelemetry/api";
import { endSpan, TRACER_NAME } from "../wire/trace-context.js";
import type { ServerObserver } from "./observer.js";

export interface TraceCallsOptions {
  /** The tracer to start spans with. Default: `@opentelemetry/api`'s global one, named `castore-grpc`. */
  tracer?: Tracer | undefined;
}

/**
 * An observer that makes each call a SERVER span, continuing the trace whose context the client
 * sent (W3C `traceparent`, or whatever propagator the application registered; the headers are
 * read the same for gRPC, gRPC-Web and Connect). The span is the active context while the call
 * runs, so spans and logs of the BlobService it calls belong to it. It carries the status code,
 * the blob's digest and the bytes moved. Spans are recorded only once an OpenTelemetry SDK is
 * registered; without one they cost a no-op call.
 */
export function traceCalls(options: TraceCallsOptions = {}): ServerObserver {
  const tracer = options.tracer ?? trace.getTracer(TRACER_NAME);
  return {
    callStarted(call) {
      const parent = propagation.extract(context.active(), call.headers);
      const span = tracer.startSpan(
        `${call.service}/${call.method}`,
        {
          kind: SpanKind.SERVER,
          attributes: {
            "rpc.system": "grpc",
            "rpc.service": call.service,
            "rpc.method": call.method,
            "castore.protocol": call.protocol,
          },
        },
        parent,
      );
      const active = trace.setSpan(parent, span);
      return {
        run: (handle) => context.with(active, handle),
        ended(end) {
          span.setAttributes({
            "castore.bytes_received": end.bytesReceived,
            "castore.bytes_sent": end.bytesSent,
            ...(end.digest ? { "castore.digest": end.digest } : {}),
          });
          endSpan(span, end.code, end.status);
        },
      };
    },
  };
}
