// castore's client side of grpc.bench.mjs: GrpcBlobService reading the big blob of bench/servers.mjs
// (verified as it arrives) or putting it (hashed as it goes). The bench's rounds call these
// functions in its own process. For peak RSS it forks this file instead, which does one transfer in
// a process of its own, as a real client would be, and reports the bytes moved and its peak RSS.
import { realpathSync } from "node:fs";
import { B3Digest } from "castore-core";
import { pseudoRandomBytes } from "castore-fixtures";
import { processPeakRss } from "../../../scripts/process-memory.mjs";
import { GrpcBlobService } from "../dist/index.js";

/** Reads the blob `digest` from `address` to the end; returns the bytes read. */
export async function castoreRead(address, digest) {
  const client = new GrpcBlobService(address);
  const reader = await client.openRead(digest);
  let received = 0;
  for (;;) {
    const chunk = await reader.read();
    if (chunk === undefined) break;
    received += chunk.length;
  }
  await client.close();
  return received;
}

/** Puts `blocks` copies of `block` to `address`, checks the store got `digest`; returns the bytes written. */
export async function castorePut(address, digest, block, blocks) {
  const client = new GrpcBlobService(address);
  const writer = await client.openWrite();
  for (let i = 0; i < blocks; i++) await writer.write(block);
  const stored = await writer.close();
  if (!stored.equals(digest)) throw new Error("put stored the wrong digest");
  await client.close();
  return writer.bytesWritten;
}

// Forked as `castore-client.mjs read|put ADDRESS DIGEST`, with BENCH_BYTES in the environment.
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === import.meta.filename) {
  const [direction, address, digest] = process.argv.slice(2);
  const MiB = 1 << 20;
  const moved =
    direction === "read"
      ? await castoreRead(address, B3Digest.parse(digest))
      : // The same bytes the servers hash and send.
        await castorePut(
          address,
          B3Digest.parse(digest),
          pseudoRandomBytes(MiB, 42),
          Number(process.env.BENCH_BYTES) / MiB,
        );
  process.send({ moved, peakRss: processPeakRss() }, () => process.disconnect());
}
