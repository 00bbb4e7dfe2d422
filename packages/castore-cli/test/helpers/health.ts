import { connect as connectHttp2 } from "node:http2";
import { connect as connectNet } from "node:net";

/**
 * Calls the standard gRPC health service (`grpc.health.v1.Health/Check`, empty service name) with a
 * hand-built gRPC request over node:http2, as any gRPC health probe would, and returns the
 * `status` field of the answer (1 = SERVING) and the call's grpc-status.
 */
export async function healthCheck(address: string): Promise<{ servingStatus: number; grpcStatus: string }> {
  const url = new URL(address);
  const socketPath = url.protocol === "grpc+unix:" ? decodeURIComponent(url.pathname) : undefined;
  const session = socketPath
    ? connectHttp2("http://localhost", { createConnection: () => connectNet(socketPath) })
    : connectHttp2(`http://${url.host}`);
  try {
    return await new Promise((resolve, reject) => {
      session.on("error", reject);
      const request = session.request({
        ":method": "POST",
        ":path": "/grpc.health.v1.Health/Check",
        "content-type": "application/grpc",
        te: "trailers",
      });
      const chunks: Buffer[] = [];
      let grpcStatus = "";
      request.on("response", (headers) => {
        if (headers["grpc-status"] !== undefined) grpcStatus = String(headers["grpc-status"]);
      });
      request.on("trailers", (trailers) => {
        grpcStatus = String(trailers["grpc-status"]);
      });
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("error", reject);
      request.on("end", () => {
        // One length-prefixed message: flag byte, 4-byte length, then HealthCheckResponse, whose
        // only field is `status` (field 1, varint): bytes 0x08 <status>. An empty message means 0.
        const body = Buffer.concat(chunks);
        const message = body.subarray(5);
        const servingStatus = message.length >= 2 && message[0] === 0x08 ? (message[1] as number) : 0;
        resolve({ servingStatus, grpcStatus });
      });
      // An empty HealthCheckRequest: not compressed, zero length.
      request.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  } finally {
    session.close();
  }
}
