// Raw connections for the hardening tests: bytes on a socket, exactly as a hostile client sends them.
import * as net from "node:net";
import { parseGrpcAddress } from "../../src/client/address.js";

/** A TCP or unix connection to a server address (grpc+http://… or grpc+unix://…). */
export function connectRaw(address: string): Promise<net.Socket> {
  const { origin, socketPath } = parseGrpcAddress(address);
  const socket = socketPath
    ? net.connect(socketPath)
    : net.connect(Number(new URL(origin).port), new URL(origin).hostname);
  socket.on("error", () => {});
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Sends `request` and collects everything the server answers until it closes the connection. */
export async function exchange(address: string, request: string | Uint8Array): Promise<string> {
  const socket = await connectRaw(address);
  let answer = "";
  socket.on("data", (chunk: Buffer) => {
    answer += chunk.toString("latin1");
  });
  socket.write(request);
  await new Promise((resolve) => socket.once("close", resolve));
  return answer;
}

/** Resolves once the server has closed `socket`. */
export function closedByServer(socket: net.Socket): Promise<void> {
  socket.resume();
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once("close", () => resolve());
  });
}
