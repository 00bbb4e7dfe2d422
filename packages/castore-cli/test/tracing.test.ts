// OpenTelemetry across processes: `castore put` and the daemon it calls, both real processes with the
// standard OTEL_* environment, exporting OTLP/HTTP (JSON) to a receiver in this test.
import { randomBytes } from "node:crypto";
import { DUMMY_DIGEST } from "castore-fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSandbox, runCastore, type Sandbox } from "./helpers/cli.js";
import { type Daemon, startDaemon } from "./helpers/daemon.js";
import { OtlpReceiver } from "./helpers/otlp-receiver.js";
import { bytesField, frame, grpcCall, http1Request, originOf } from "./helpers/raw-calls.js";

const SERVER = 2;
const CLIENT = 3;

let sandbox: Sandbox;
let receiver: OtlpReceiver;
let daemon: Daemon;
let tracingEnv: NodeJS.ProcessEnv;
beforeAll(async () => {
  sandbox = await makeSandbox();
  receiver = await OtlpReceiver.start();
  tracingEnv = {
    ...sandbox.env,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_BSP_SCHEDULE_DELAY: "20",
  };
  daemon = await startDaemon(
    ["--blob-service-addr", "memory://", "--listen-address", "127.0.0.1:0", "--log-level", "debug"],
    { ...tracingEnv, OTEL_SERVICE_NAME: "test-daemon" },
  );
});
afterAll(async () => {
  if (daemon?.process.exitCode === null) daemon.process.kill("SIGKILL");
  await receiver?.close();
  await sandbox.cleanup();
});

describe("tracing (OTEL_EXPORTER_OTLP_ENDPOINT)", () => {
  it("castore put's client span and the daemon's server span share one trace", async () => {
    const put = await runCastore(["put", "--blob-service-addr", daemon.address], {
      env: { ...tracingEnv, OTEL_SERVICE_NAME: "test-client" },
      input: "hello, traces\n",
    });
    expect(put.stderr).toBe("");
    expect(put.code).toBe(0);
    const digest = put.stdout.toString("utf8").trim();

    // The client flushed its spans before exiting; the daemon exports within milliseconds.
    const command = await receiver.waitFor((span) => span.service === "test-client" && span.name === "castore put");
    const client = await receiver.waitFor(
      (span) => span.service === "test-client" && span.kind === CLIENT && span.traceId === command.traceId,
    );
    const server = await receiver.waitFor(
      (span) => span.service === "test-daemon" && span.kind === SERVER && span.traceId === command.traceId,
    );
    expect(client.name).toBe("tvix.castore.v1.BlobService/Put");
    expect(client.parentSpanId).toBe(command.spanId);
    expect(server.parentSpanId).toBe(client.spanId);
    expect(server.name).toBe("tvix.castore.v1.BlobService/Put");
    expect(server.attributes).toMatchObject({
      "rpc.system": "grpc",
      "rpc.service": "tvix.castore.v1.BlobService",
      "rpc.method": "Put",
      "rpc.grpc.status_code": 0,
      "castore.protocol": "grpc",
      "castore.digest": digest,
      "castore.bytes_received": 14,
      "castore.bytes_sent": 0,
    });
    // The daemon's log lines of that call carry the trace id.
    await daemon.waitForLog(`"msg":"stored","call":"${command.traceId}"`);
    await daemon.waitForLog(`"msg":"call","call":"${command.traceId}"`);
  });

  it("a trace context sent over gRPC, gRPC-Web or the Connect protocol is continued by the daemon", async () => {
    const origin = originOf(daemon.address);
    const statBody = bytesField(DUMMY_DIGEST.bytes);
    const calls: Record<string, (traceparent: string) => Promise<unknown>> = {
      grpc: (traceparent) => grpcCall(daemon.address, "/tvix.castore.v1.BlobService/Stat", [statBody], { traceparent }),
      "grpc-web": (traceparent) =>
        http1Request(`${origin}/tvix.castore.v1.BlobService/Stat`, {
          method: "POST",
          headers: { "content-type": "application/grpc-web+proto", traceparent },
          body: frame(statBody),
        }),
      connect: (traceparent) =>
        http1Request(`${origin}/snix.castore.v1.BlobService/Stat`, {
          method: "POST",
          headers: { "content-type": "application/json", traceparent },
          body: JSON.stringify({ digest: Buffer.from(DUMMY_DIGEST.bytes).toString("base64") }),
        }),
    };
    for (const [protocol, call] of Object.entries(calls)) {
      const traceId = randomBytes(16).toString("hex");
      const parentSpanId = randomBytes(8).toString("hex");
      await call(`00-${traceId}-${parentSpanId}-01`);
      const span = await receiver.waitFor((s) => s.traceId === traceId);
      expect(span, protocol).toMatchObject({ service: "test-daemon", kind: SERVER, parentSpanId });
      expect(span.attributes, protocol).toMatchObject({
        "castore.protocol": protocol,
        "rpc.method": "Stat",
        "rpc.grpc.status_code": 5, // NOT_FOUND
      });
    }
  });
});
