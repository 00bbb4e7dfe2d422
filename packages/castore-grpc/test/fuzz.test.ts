// Seeded random garbage (bytes, request lines, headers, HTTP/2 frames) at every kind of listener:
// whatever comes, the server answers a normal client afterwards. The seed makes a failure replayable.
import { pseudoRandomBytes } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { ObservedBlobService } from "./support/observed.js";
import { closedByServer, connectRaw } from "./support/raw.js";
import { served } from "./support/served.js";

const SEED = 9;
const ROUNDS = 60;

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PATHS = [
  "/tvix.castore.v1.BlobService/Stat",
  "/tvix.castore.v1.BlobService/Read",
  "/snix.castore.v1.BlobService/Put",
  "/grpc.health.v1.Health/Check",
  "/",
  "*",
  "/%00%ff",
];
const METHODS = ["GET", "POST", "OPTIONS", "PUT", "PRI", "HEAD", "X"];
const HEADERS = [
  "Host:",
  "Host: evil.example",
  "Content-Type: application/json",
  "Content-Type: application/grpc-web+proto",
  "Content-Type: application/connect+proto",
  "Content-Type: application/proto",
  "Content-Length: -1",
  "Content-Length: 99999999999",
  "Transfer-Encoding: chunked",
  "Origin: https://evil.example",
  "Access-Control-Request-Method: POST",
  "Connect-Protocol-Version: 1",
  "Connect-Timeout-Ms: abc",
  "Grpc-Timeout: 99999999999H",
  "Authorization: Bearer \u00ff",
  "Expect: 100-continue",
  "X: \u0000",
];

function garbage(next: () => number, host: string): Uint8Array {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const kind = Math.floor(next() * 4);
  if (kind === 0) return pseudoRandomBytes(1 + Math.floor(next() * 2000), Math.floor(next() * 1e9));
  if (kind === 1) {
    // The HTTP/2 preface, then random frames.
    const frames = pseudoRandomBytes(Math.floor(next() * 500), Math.floor(next() * 1e9));
    return Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), frames]);
  }
  const lines = [`${pick(METHODS)} ${pick(PATHS)} HTTP/${pick(["1.0", "1.1", "2.0", "9"])}`];
  if (next() < 0.7) lines.push(`Host: ${host}`);
  for (let i = Math.floor(next() * 6); i > 0; i--) lines.push(pick(HEADERS));
  const body = pseudoRandomBytes(Math.floor(next() * 300), Math.floor(next() * 1e9));
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), body]);
}

describe.each(["tcp", "unix"] as const)("random requests over %s", (transport) => {
  it(`${ROUNDS} malformed requests (seed ${SEED}) leave the server answering`, async () => {
    const castore = await served(transport, {
      backend: new ObservedBlobService(),
      server: { health: true, headersTimeoutMs: 500, stalledBodyTimeoutMs: 500, idleTimeoutMs: 500 },
    });
    const host = castore.server.address.startsWith("grpc+unix")
      ? "localhost"
      : new URL(castore.server.address.replace("grpc+", "")).host;
    const next = random(SEED);
    await Promise.all(
      Array.from({ length: ROUNDS }, async () => {
        const socket = await connectRaw(castore.server.address);
        socket.end(garbage(next, host));
        await closedByServer(socket);
      }),
    );
    expect(await castore.has(new Uint8Array(32).fill(7) as never)).toBe(false);
    expect(castore.backend.blobCount).toBe(0);
    await castore.close();
  });
});
