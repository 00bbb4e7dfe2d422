// Which OTEL_* environments turn tracing on, and how: the standard variables, read as the spec says.
import { describe, expect, it } from "vitest";
import { UsageError } from "../src/errors.js";
import { tracingConfig, tracingEnabled } from "../src/tracing.js";

const ENDPOINT = "http://127.0.0.1:4318";

describe("tracingConfig", () => {
  it("is off without an exporter or an endpoint, and when disabled", () => {
    expect(tracingConfig({})).toBeUndefined();
    expect(tracingConfig({ OTEL_SERVICE_NAME: "x" })).toBeUndefined();
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_SDK_DISABLED: "TRUE" })).toBeUndefined();
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_TRACES_EXPORTER: "none" })).toBeUndefined();
  });

  it("an endpoint or an exporter turns it on; OTLP over HTTP, protobuf unless JSON is asked for", () => {
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT })).toEqual({
      exporter: "otlp",
      protocol: "http/protobuf",
    });
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${ENDPOINT}/v1/traces` })?.exporter).toBe("otlp");
    expect(tracingConfig({ OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" })).toEqual({
      exporter: "otlp",
      protocol: "http/json",
    });
    expect(
      tracingConfig({
        OTEL_TRACES_EXPORTER: "otlp",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/protobuf",
      })?.protocol,
    ).toBe("http/protobuf");
    expect(tracingConfig({ OTEL_TRACES_EXPORTER: " Console " })?.exporter).toBe("console");
  });

  it("what castore cannot export to is a usage error (and tracingEnabled is false)", () => {
    for (const env of [
      { OTEL_TRACES_EXPORTER: "zipkin" },
      { OTEL_TRACES_EXPORTER: "otlp,console" },
      { OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" },
    ]) {
      expect(() => tracingConfig(env), JSON.stringify(env)).toThrow(UsageError);
      expect(tracingEnabled(env)).toBe(false);
    }
  });
});
