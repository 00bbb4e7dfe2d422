// A 64 MiB blob round-trips, and memory stays bounded on the way: when the receiving side stops
// taking bytes, the sending side stops too, after a few MiB (HTTP/2 flow control plus a few
// buffers), not after the whole blob.
import { setTimeout as sleep } from "node:timers/promises";
import { type B3Digest, type BlobReader, createBlake3Hasher, digestOf } from "castore-core";
import { pseudoRandomBytes } from "castore-fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ObservedBlobService } from "./support/observed.js";
import { type ServedClient, served } from "./support/served.js";

const MiB = 1 << 20;
const blob = pseudoRandomBytes(64 * MiB, 64);
/** What may pile up in between: the 8 MiB stream window, socket buffers, a few messages in flight (about 8 MiB measured). */
const BOUND = 16 * MiB;

/** Waits until `value()` has not changed for a while, and returns it. */
async function settled(value: () => number): Promise<number> {
  let last = -1;
  for (let stable = 0; stable < 5; ) {
    await sleep(50);
    const now = value();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  return last;
}

describe.each(["unix", "tcp"] as const)("a 64 MiB blob over %s", (transport) => {
  let castore: ServedClient & { backend: ObservedBlobService };
  let digest: B3Digest;
  beforeAll(async () => {
    castore = await served(transport, { backend: new ObservedBlobService() });
    digest = await digestOf(blob);
  });
  afterAll(async () => {
    await castore.close();
  });

  it("Put: a client writing to a stalled store is held back, then finishes", async () => {
    castore.backend.hold();
    const writer = await castore.openWrite();
    let accepted = 0;
    const writing = (async () => {
      for (let offset = 0; offset < blob.length; offset += MiB) {
        await writer.write(blob.subarray(offset, offset + MiB));
        accepted += MiB;
      }
      return writer.close();
    })();
    const held = await settled(() => accepted);
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(BOUND);
    expect(castore.backend.bytesTaken).toBe(0);
    castore.backend.release();
    expect((await writing).equals(digest)).toBe(true);
    expect(castore.backend.bytesTaken).toBe(blob.length);
  });

  it("Read: a server reading for a client that stopped is held back; the rest then arrives intact", async () => {
    const reader = (await castore.openRead(digest)) as BlobReader;
    const first = (await reader.read()) as Uint8Array;
    const read = castore.backend.bytesRead;
    const held = await settled(() => castore.backend.bytesRead);
    expect(held).toBeLessThanOrEqual(read + BOUND);
    expect(held).toBeLessThan(blob.length);

    // Hash the rest as it comes rather than gather 64 MiB.
    const hasher = await createBlake3Hasher();
    hasher.update(first);
    let position = first.length;
    for (;;) {
      const chunk = await reader.read();
      if (!chunk) break;
      hasher.update(chunk);
      position += chunk.length;
    }
    expect(position).toBe(blob.length);
    expect(digest.equals(hasher.digest())).toBe(true);
    await reader.close();
  });
});
