// --config FILE on the daemon and on client commands, and cache:// addresses: real processes, a
// real daemon as the far tier on a unix socket, SQLite files near.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BLOB_C, HELLOWORLD } from "castore-fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSandbox, runCastore, type Sandbox } from "./helpers/cli.js";
import { type Daemon, startDaemon } from "./helpers/daemon.js";

let sandbox: Sandbox;
let far: Daemon;
let farAddress: string;
beforeAll(async () => {
  sandbox = await makeSandbox();
  const socket = join(sandbox.dir, "far.sock");
  far = await startDaemon(
    ["--listen-address", `unix:${socket}`, "--blob-service-addr", `sqlite://${join(sandbox.dir, "far.sqlite")}`],
    sandbox.env,
  );
  farAddress = far.address;
});
afterAll(async () => {
  await far?.stop();
  await sandbox?.cleanup();
});

/** Writes a configuration file into the sandbox and returns its path. */
async function configFile(name: string, text: string): Promise<string> {
  const path = join(sandbox.dir, name);
  await writeFile(path, text);
  return path;
}

const cacheToml = (near: string, write = "near") => `# a SQLite near tier in front of the team's daemon
[blobservices.root]
type = "cache"
near = "&local"
far = "&team"
write = "${write}"

[blobservices.local]
type = "sqlite"
path = "${near}"

[blobservices.team]
type = "grpc+unix"
path = "${new URL(farAddress).pathname}"
`;

describe("client commands with --config", () => {
  it("put, cat and stat go through a cache tier; write = through reaches the daemon", async () => {
    const config = await configFile("through.toml", cacheToml(join(sandbox.dir, "near1.sqlite"), "through"));
    const put = await runCastore(["put", "--config", config, "-"], { env: sandbox.env, input: BLOB_C.data });
    expect(put.stderr).toBe("");
    expect(put.stdout.toString()).toBe(`${BLOB_C.digest}\n`);
    const cat = await runCastore(["cat", "--config", config, BLOB_C.digest.toString()], { env: sandbox.env });
    expect(Buffer.compare(cat.stdout, BLOB_C.data)).toBe(0);
    const fromDaemon = await runCastore(["cat", "--blob-service-addr", farAddress, BLOB_C.digest.toString()], {
      env: sandbox.env,
    });
    expect(Buffer.compare(fromDaemon.stdout, BLOB_C.data)).toBe(0);
  });

  it("reads what only the daemon has through a fresh near tier (JSON)", async () => {
    const put = await runCastore(["put", "--blob-service-addr", farAddress, "-"], {
      env: sandbox.env,
      input: HELLOWORLD.data,
    });
    expect(put.code).toBe(0);
    const json = {
      blobservices: {
        root: { type: "cache", near: "&local", far: farAddress },
        local: { type: "sqlite", path: join(sandbox.dir, "near2.sqlite") },
      },
    };
    const config = await configFile("fresh.json", JSON.stringify(json));
    const cat = await runCastore(["cat", "--config", config, HELLOWORLD.digest.toString()], { env: sandbox.env });
    expect(cat.stderr).toBe("");
    expect(Buffer.compare(cat.stdout, HELLOWORLD.data)).toBe(0);
    // Filled near: the SQLite file alone now has it.
    const near = `sqlite://${join(sandbox.dir, "near2.sqlite")}`;
    const stat = await runCastore(["stat", "--blob-service-addr", near, HELLOWORLD.digest.toString()], {
      env: sandbox.env,
    });
    expect(stat.code).toBe(0);
  });

  it.each([
    [
      "unknown.toml",
      '[blobservices.root]\ntype = "cache"\nnear = "memory://"\nfar = "memory://"\nnearr = "memory://"\n',
      /blobservices\.root\.nearr: unknown key/,
    ],
    [
      "dangling.toml",
      '[blobservices.root]\ntype = "cache"\nnear = "&x"\nfar = "&y"\n',
      /blobservices\.root\.near: dangling/,
    ],
    ["noroot.json", '{"blobservices": {"local": {"type": "memory"}}}', /blobservices\.root: missing/],
    ["syntax.toml", "[blobservices.root\n", /not valid TOML \(line 1/],
    ["config.yaml", "blobservices: {}\n", /ends in \.toml or \.json/],
  ])("a bad configuration (%s) is a usage error naming the key", async (name, text, message) => {
    const config = await configFile(name, text);
    const result = await runCastore(["stat", "--config", config, HELLOWORLD.digest.toString()], { env: sandbox.env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it("refuses --config together with --blob-service-addr, and a missing file", async () => {
    const both = await runCastore(
      ["stat", "--config", "x.toml", "--blob-service-addr", "memory://", HELLOWORLD.digest.toString()],
      {
        env: sandbox.env,
      },
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/not both/);
    const missing = await runCastore(
      ["stat", "--config", join(sandbox.dir, "none.toml"), HELLOWORLD.digest.toString()],
      {
        env: sandbox.env,
      },
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read the configuration .*none\.toml \(ENOENT\)/);
  });
});

describe("castore daemon --config", () => {
  it("serves the root store of a configuration file", async () => {
    const config = await configFile("daemon.toml", cacheToml(join(sandbox.dir, "near3.sqlite")));
    const daemon = await startDaemon(
      ["--listen-address", `unix:${join(sandbox.dir, "cache.sock")}`, "--config", config],
      sandbox.env,
    );
    try {
      expect(daemon.startupLine).toContain(`(store config ${config})`);
      const put = await runCastore(["put", "--blob-service-addr", daemon.address, "-"], {
        env: sandbox.env,
        input: BLOB_C.data,
      });
      expect(put.stdout.toString()).toBe(`${BLOB_C.digest}\n`);
      const cat = await runCastore(["cat", "--blob-service-addr", daemon.address, BLOB_C.digest.toString()], {
        env: sandbox.env,
      });
      expect(Buffer.compare(cat.stdout, BLOB_C.data)).toBe(0);
    } finally {
      expect((await daemon.stop()).code).toBe(0);
    }
  });
});

describe("cache:// addresses", () => {
  it("compose a near and a far store given as percent-encoded URLs", async () => {
    const near = `sqlite://${join(sandbox.dir, "near4.sqlite")}`;
    const address = `cache://?near=${encodeURIComponent(near)}&far=${encodeURIComponent(farAddress)}`;
    const put = await runCastore(["put", "--blob-service-addr", address, "-"], { env: sandbox.env, input: "cached" });
    expect(put.stderr).toBe("");
    const cat = await runCastore(["cat", "--blob-service-addr", address, put.stdout.toString().trim()], {
      env: sandbox.env,
    });
    expect(cat.stdout.toString()).toBe("cached");
  });
});
