// The CLI with an objectstore+file:// store: separate processes writing and reading snix's layout
// in one directory. (The S3 flavour is tested in castore-objectstore against a real gateway.)
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { BLOB_C, HELLOWORLD } from "castore-fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSandbox, runCastore, type Sandbox } from "./helpers/cli.js";

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await makeSandbox();
});
afterAll(async () => {
  await sandbox.cleanup();
});

describe("--blob-service-addr objectstore+file://", () => {
  it("put and cat go through snix's layout in the directory", async () => {
    const address = `objectstore+file://${join(sandbox.dir, "objects")}?avg_chunk_size=16384`;
    for (const fixture of [HELLOWORLD, BLOB_C]) {
      const put = await runCastore(["put", "--blob-service-addr", address, "-"], {
        env: sandbox.env,
        input: fixture.data,
      });
      expect(put.stderr).toBe("");
      expect(put.stdout.toString()).toBe(`${fixture.digest}\n`);
      const cat = await runCastore(["cat", "--blob-service-addr", address, fixture.digest.toString()], {
        env: sandbox.env,
      });
      expect(cat.stderr).toBe("");
      expect(Buffer.compare(cat.stdout, fixture.data)).toBe(0);
    }
    const hex = HELLOWORLD.digest.toHex();
    expect(await readdir(join(sandbox.dir, "objects", "blobs", "b3", hex.slice(0, 4)))).toEqual([hex]);
    expect(await readdir(join(sandbox.dir, "objects", "chunks", "b3", hex.slice(0, 4)))).toEqual([hex]);
  });

  it("a malformed objectstore address is a clear error", async () => {
    const result = await runCastore(
      ["stat", "--blob-service-addr", "objectstore+file://host/x", HELLOWORLD.digest.toString()],
      {
        env: sandbox.env,
      },
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("take no host");
  });
});
