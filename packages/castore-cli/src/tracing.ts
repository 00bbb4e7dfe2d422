import { UsageError } from "./errors.js";
import type { Logger } from "./logger.js";

/** OTLP over HTTP, in the two encodings the OpenTelemetry SDK's exporters speak. */
type OtlpProtocol = "http/protobuf" | "http/json";

export interface TracingConfig {
  exporter: "otlp" | "console";
  protocol: OtlpProtocol;
}

/**
 * Whether the standard OpenTelemetry environment asks for traces, and how to export them. Off
 * unless `OTEL_TRACES_EXPORTER` names an exporter (`otlp`, `console`) or an OTLP endpoint is set
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); `OTEL_SDK_DISABLED=true`
 * and `OTEL_TRACES_EXPORTER=none` turn it off. The OTLP protocol is `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`
 * or `OTEL_EXPORTER_OTLP_PROTOCOL`: http/protobuf (the default) or http/json.
 */
export function tracingConfig(env: NodeJS.ProcessEnv): TracingConfig | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return undefined;
  const named = (env.OTEL_TRACES_EXPORTER ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== "");
  if (named.includes("none")) return undefined;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (named.length === 0 && !endpoint) return undefined;
  const exporter = named[0] ?? "otlp";
  if (named.length > 1 || (exporter !== "otlp" && exporter !== "console")) {
    throw new UsageError(
      `OTEL_TRACES_EXPORTER=${env.OTEL_TRACES_EXPORTER}: castore exports to one of otlp, console, none`,
    );
  }
  const protocol = (
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ||
    env.OTEL_EXPORTER_OTLP_PROTOCOL ||
    "http/protobuf"
  ).trim();
  if (protocol !== "http/protobuf" && protocol !== "http/json") {
    throw new UsageError(`OTLP protocol ${JSON.stringify(protocol)} is not supported: use http/protobuf or http/json`);
  }
  return { exporter, protocol };
}

/** Whether startTracing registers an SDK in this environment (false where its settings are unusable). */
export function tracingEnabled(env: NodeJS.ProcessEnv): boolean {
  try {
    return tracingConfig(env) !== undefined;
  } catch {
    return false;
  }
}

/** A running OpenTelemetry SDK. */
export interface Tracing {
  /** Runs `work` as a span named `name` (an error status if it throws or resolves to a failing exit code). */
  inSpan(name: string, work: () => Promise<number>): Promise<number>;
  /** Exports what is still buffered and stops (waits at most a few seconds). */
  shutdown(): Promise<void>;
}

/**
 * Registers OpenTelemetry's SDK globally when the environment asks for traces (see tracingConfig):
 * a tracer provider exporting in batches, W3C trace-context propagation, and async context
 * tracking, so castore-grpc's client and server spans are recorded and joined across processes.
 * The SDK is loaded only then; without tracing nothing of it is imported.
 */
export async function startTracing(
  env: NodeJS.ProcessEnv,
  serviceName: string,
  logger: Logger,
): Promise<Tracing | undefined> {
  const config = tracingConfig(env);
  if (!config) return undefined;
  const [api, sdk, core, resources, contextHooks] = await Promise.all([
    import("@opentelemetry/api"),
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/core"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/context-async-hooks"),
  ]);
  const exporter =
    config.exporter === "console"
      ? new sdk.ConsoleSpanExporter()
      : config.protocol === "http/json"
        ? new (await import("@opentelemetry/exporter-trace-otlp-http")).OTLPTraceExporter()
        : new (await import("@opentelemetry/exporter-trace-otlp-proto")).OTLPTraceExporter();
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the name given here.
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ "service.name": serviceName }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const batching = new sdk.BatchSpanProcessor({
    exporter,
    scheduledDelayMillis: envMs(env, "OTEL_BSP_SCHEDULE_DELAY"),
    exportTimeoutMillis: envMs(env, "OTEL_BSP_EXPORT_TIMEOUT"),
    maxQueueSize: envMs(env, "OTEL_BSP_MAX_QUEUE_SIZE"),
    maxExportBatchSize: envMs(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
  });
  const provider = new sdk.TracerProvider({ resource, spanProcessors: [batching] });
  api.context.setGlobalContextManager(new contextHooks.AsyncLocalStorageContextManager().enable());
  api.propagation.setGlobalPropagator(
    new core.CompositePropagator({
      propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()],
    }),
  );
  api.trace.setGlobalTracerProvider(provider);
  // Export failures are the collector's problem, not the command's: log them, never fail on them.
  api.diag.setLogger(
    {
      error: (message, ...args) => logger.warn("tracing", { error: [message, ...args].map(String).join(" ") }),
      warn: (message, ...args) => logger.debug("tracing", { warning: [message, ...args].map(String).join(" ") }),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    api.DiagLogLevel.WARN,
  );
  logger.debug("tracing on", { exporter: config.exporter, protocol: config.protocol });
  const tracer = api.trace.getTracer("castore-cli");
  return {
    inSpan: (name, work) =>
      tracer.startActiveSpan(name, async (span) => {
        try {
          const status = await work();
          if (status !== 0) span.setStatus({ code: api.SpanStatusCode.ERROR, message: `exit status ${status}` });
          return status;
        } catch (error) {
          span.setStatus({
            code: api.SpanStatusCode.ERROR,
            message: error instanceof Error ? error.message : String(error),
          });
          throw error;
        } finally {
          span.end();
        }
      }),
    shutdown: async () => {
      await Promise.race([provider.shutdown(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    },
  };
}

/** A positive integer from the environment (the batch processor's OTEL_BSP_* settings), else undefined. */
function envMs(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name]?.trim();
  return text && /^[1-9]\d{0,8}$/.test(text) ? Number(text) : undefined;
}
