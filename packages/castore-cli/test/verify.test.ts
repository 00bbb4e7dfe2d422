// castore verify: every blob of a store (or the ones named) read through the verifying reader, bad
// ones listed, exit 1 if any; also while a daemon serves the same SQLite file.
import { join } from "node:path";
import { type B3Digest, type BlobService, fromAddr, putBlob, register } from "castore-core";
import { DUMMY_DIGEST, pseudoRandomBytes } from "castore-fixtures";
import { grpcBackends } from "castore-grpc";
import { openSqliteBlobService } from "castore-sqlite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeSandbox, runCastore, type Sandbox } from "./helpers/cli.js";
import { startDaemon } from "./helpers/daemon.js";
import { corruptInStore } from "./helpers/files.js";

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await makeSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

const run = (args: string[]) => runCastore(args, { env: sandbox.env });

/** Blobs of several shapes (empty, one piece, chunked), each with stretches no other blob has. */
const BLOBS = [0, 100, 3000, 300_000, 1_500_000].map((size, i) => pseudoRandomBytes(size, 700 + i));

async function populate(file: string): Promise<B3Digest[]> {
  const service = await openSqliteBlobService(file);
  try {
    const digests: B3Digest[] = [];
    for (const data of BLOBS) digests.push(await putBlob(service, data));
    return digests;
  } finally {
    await service.close();
  }
}

describe("castore verify", () => {
  it("a sound store: a summary and exit 0", async () => {
    const file = join(sandbox.dir, "blobs.sqlite");
    await populate(file);
    const result = await run(["verify", "--blob-service-addr", `sqlite://${file}`]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout.toString()).toMatch(/^verified 5 blobs \(1\.72 MiB read\): 5 sound, 0 bad\n$/);
  });

  it("lists each corrupt blob with the reason, still checks the rest, and exits 1", async () => {
    const file = join(sandbox.dir, "blobs.sqlite");
    const digests = await populate(file);
    // A byte of a one-piece blob and one in the middle of a chunked one, flipped in the store's files
    // (every copy: a row moved by a page split may leave a stale one behind).
    for (const i of [2, 4]) {
      const data = BLOBS[i] as Uint8Array;
      const middle = Math.floor(data.length / 2);
      expect(await corruptInStore(file, data.subarray(middle, middle + 32))).toBe(true);
      while (await corruptInStore(file, data.subarray(middle, middle + 32)));
    }
    const result = await run(["verify", "--blob-service-addr", `sqlite://${file}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("");
    const lines = result.stdout.toString().trimEnd().split("\n");
    expect(lines.slice(0, -1).sort()).toEqual(
      [`${digests[2]} corrupt: `, `${digests[4]} corrupt: `].sort().map((prefix) => expect.stringContaining(prefix)),
    );
    expect(lines.at(-1)).toMatch(/^verified 5 blobs \(.*\): 3 sound, 2 bad$/);
  });

  it("checks only the digests named; an absent one is reported missing", async () => {
    const file = join(sandbox.dir, "blobs.sqlite");
    const digests = await populate(file);
    const address = `sqlite://${file}`;
    const sound = await run(["verify", "--blob-service-addr", address, String(digests[3]), String(digests[0])]);
    expect(sound).toMatchObject({ code: 0, stderr: "" });
    expect(sound.stdout.toString()).toMatch(/^verified 2 blobs .*: 2 sound, 0 bad\n$/);
    const missing = await run(["verify", "--blob-service-addr", address, DUMMY_DIGEST.toHex()]);
    expect(missing.code).toBe(1);
    expect(missing.stdout.toString()).toBe(`${DUMMY_DIGEST} missing\nverified 1 blob (0 B read): 0 sound, 1 bad\n`);
    const malformed = await run(["verify", "--blob-service-addr", address, "b3:nope"]);
    expect(malformed.code).toBe(2);
  });

  it("runs in its own process while a daemon serves and stores into the same SQLite file", async () => {
    const file = join(sandbox.dir, "blobs.sqlite");
    await populate(file);
    const socket = join(sandbox.dir, "d.sock");
    const daemon = await startDaemon(
      ["--listen-address", `unix:${socket}`, "--blob-service-addr", `sqlite://${file}?avg_chunk_size=4096`],
      sandbox.env,
    );
    register(...grpcBackends);
    const client: BlobService = await fromAddr(`grpc+unix://${socket}`);
    try {
      // Uploads through the daemon keep landing while verify walks the file.
      let stop = false;
      let uploaded = 0;
      const uploads = (async () => {
        while (!stop) await putBlob(client, pseudoRandomBytes(4096 * 3 + uploaded, 9000 + uploaded++));
      })();
      const result = await run(["verify", "--blob-service-addr", `sqlite://${file}`]);
      stop = true;
      await uploads;
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const [, checked] = /^verified (\d+) blobs .*: \1 sound, 0 bad\n$/.exec(result.stdout.toString()) ?? [];
      expect(Number(checked)).toBeGreaterThanOrEqual(BLOBS.length);
      expect(uploaded).toBeGreaterThan(0);
      // The daemon is unharmed, and verify through it checks named blobs (it cannot list them).
      const last = await putBlob(client, pseudoRandomBytes(5000, 1));
      const named = await run(["verify", "--blob-service-addr", `grpc+unix://${socket}`, String(last)]);
      expect(named).toMatchObject({ code: 0, stderr: "" });
      const all = await run(["verify", "--blob-service-addr", `grpc+unix://${socket}`]);
      expect(all.code).toBe(1);
      expect(all.stderr).toMatch(/^castore verify: this store cannot list its blobs; name the digests to verify/);
      expect(daemon.stderr()).not.toContain('"level":"error"');
    } finally {
      await client.close();
      await daemon.stop();
    }
  });
});
