// A Put the client resets never stores, however long after its last message the reset comes: the
// server commits only once the client's END_STREAM arrived and a round trip after it found the
// stream still open. The delays are the scenario (when the client gives up), not synchronisation.
// And a reset is the client's doing: nothing reaches the server's onError.
import * as http2 from "node:http2";
import { concatBytes } from "castore-core/backend";
import { pseudoRandomBytes } from "castore-fixtures";
import { expect, it } from "vitest";
import { blobChunkFrameHeader } from "../src/wire/frames.js";
import { ObservedBlobService } from "./support/observed.js";
import { served } from "./support/served.js";

const DELAYS_MS = [0, 1, 5, 20, 50];
const CANCELS = 1_000;
const CONNECTIONS = 10;
const message = (seed: number) => {
  const data = pseudoRandomBytes(16 << 10, seed);
  return concatBytes([blobChunkFrameHeader(data.length), data]);
};

/** Sends two of three messages of a Put, waits `delayMs`, then cancels as grpc-js and Connect do. */
function cancelledPut(session: http2.ClientHttp2Session, seed: number, delayMs: number): Promise<void> {
  return new Promise((resolve) => {
    const stream = session.request({
      ":method": "POST",
      ":path": "/tvix.castore.v1.BlobService/Put",
      "content-type": "application/grpc",
      te: "trailers",
    });
    stream.on("error", () => {});
    stream.once("close", () => resolve());
    stream.write(message(seed));
    stream.write(message(seed + 1), () => {
      setTimeout(() => {
        // ClientHttp2Stream.close(code) ends the request (END_STREAM) and resets it (RST_STREAM).
        stream.close(http2.constants.NGHTTP2_CANCEL);
        stream.destroy();
      }, delayMs);
    });
    stream.resume();
  });
}

it(`${CANCELS} Puts cancelled ${DELAYS_MS.join(", ")} ms after their last message store nothing`, async () => {
  const internal: unknown[] = [];
  const castore = await served("tcp", {
    backend: new ObservedBlobService(),
    server: { onError: (error) => internal.push(error) },
  });
  const origin = castore.server.address.replace("grpc+", "");
  const sessions = Array.from({ length: CONNECTIONS }, () => http2.connect(origin));
  const perSession = CANCELS / CONNECTIONS;
  await Promise.all(
    sessions.map(async (session, s) => {
      // A few at a time per connection: the cancels overlap other calls' ends, as under load.
      for (let i = 0; i < perSession; i += 10) {
        await Promise.all(
          Array.from({ length: 10 }, (_, k) => {
            const n = s * perSession + i + k;
            return cancelledPut(session, n * 2, DELAYS_MS[n % DELAYS_MS.length] as number);
          }),
        );
      }
    }),
  );
  for (const session of sessions) session.close();
  // Closing waits for every call the server is still handling, so all have ended after this.
  await castore.server.close({ timeoutMs: 60_000 });
  expect(castore.backend.writersClosed).toBe(0);
  expect(castore.backend.blobCount).toBe(0);
  // Each was the client going away, never a server fault.
  expect(internal).toEqual([]);
  await castore.close();
}, 60_000);
