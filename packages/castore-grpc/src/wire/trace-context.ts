import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { context, propagation, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from "@opentelemetry/api";

/**
 * OpenTelemetry for castore's clients, through `@opentelemetry/api` alone: without an SDK
 * registered by the application its tracer and propagator do nothing, so a client that nobody
 * traces pays a no-op call or two per RPC. With one, every call is a CLIENT span and carries the
 * W3C `traceparent` (whatever propagator the SDK set up), so the server's span joins the trace.
 */
export const TRACER_NAME = "castore-grpc";

export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/** `tvix.castore.v1.BlobService/Read` from the HTTP path `/tvix.castore.v1.BlobService/Read`. */
function rpcNames(path: string): { name: string; service: string; method: string } {
  const name = path.replace(/^\//, "");
  const slash = name.lastIndexOf("/");
  return { name, service: name.slice(0, slash), method: name.slice(slash + 1) };
}

/**
 * Starts a CLIENT span for the call to `path` and writes its trace context into the request
 * headers through `set`. Returns the span's end: the call's gRPC status code (0 OK).
 */
export function startClientSpan(path: string, set: (header: string, value: string) => void): (code: number) => void {
  const { name, service, method } = rpcNames(path);
  const span = tracer().startSpan(name, {
    kind: SpanKind.CLIENT,
    attributes: { "rpc.system": "grpc", "rpc.service": service, "rpc.method": method },
  });
  propagation.inject(trace.setSpan(context.active(), span), undefined, {
    set: (_carrier, key, value) => set(key, value),
  });
  return (code) => endSpan(span, code);
}

/** Ends a span with the call's gRPC status code (an error status for anything but OK). */
export function endSpan(span: Span, code: number, message?: string): void {
  span.setAttribute("rpc.grpc.status_code", code);
  if (code !== 0) span.setStatus({ code: SpanStatusCode.ERROR, ...(message ? { message } : {}) });
  span.end();
}

/** A Connect client interceptor: one CLIENT span per call, its context in the request headers. */
export const traceClientCalls: Interceptor = (next) => async (request) => {
  const end = startClientSpan(`/${request.service.typeName}/${request.method.name}`, (key, value) =>
    request.header.set(key, value),
  );
  try {
    const response = await next(request);
    if (!response.stream) {
      end(0);
      return response;
    }
    const messages = response.message;
    return {
      ...response,
      message: (async function* () {
        let code = 1; // a consumer that stops early has cancelled the call
        try {
          yield* messages;
          code = 0;
        } catch (error) {
          code = ConnectError.from(error).code;
          throw error;
        } finally {
          end(code);
        }
      })(),
    };
  } catch (error) {
    end(ConnectError.from(error).code);
    throw error;
  }
};
