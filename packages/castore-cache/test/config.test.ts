// Store configurations (snix's shape): named stores, `&name` references, `root`; every mistake is an
// `InvalidAddress` error that names the key. Real stores throughout (SQLite files, a directory).
import { join } from "node:path";
import {
  type BlobService,
  type BlobServiceBackend,
  BlobServiceRegistry,
  getBlob,
  InvalidAddressError,
  openStoreConfig,
  putBlob,
} from "castore-core";
import { parseOptions, requireNoHost, requireNoPath } from "castore-core/backend";
import { MemoryBlobService, memoryBackend } from "castore-memory";
import { objectStoreBackends } from "castore-objectstore";
import { SqliteBlobService, sqliteBackend } from "castore-sqlite";
import { describe, expect, it } from "vitest";
import { CacheBlobService, cacheBackend } from "../src/index.js";
import { tempDir } from "./support/temp.js";

const registry = () => new BlobServiceRegistry([memoryBackend, sqliteBackend, ...objectStoreBackends, cacheBackend]);
const bytes = new TextEncoder().encode("composed");

/** Opening `config` fails with InvalidAddress, and the message starts with `path`. */
async function rejects(config: unknown, path: string, detail?: RegExp): Promise<void> {
  const error = await openStoreConfig(config, { registry: registry() }).then(
    () => {
      throw new Error("expected the configuration to be refused");
    },
    (e: unknown) => e as Error & { code: string },
  );
  expect(error.code).toBe("InvalidAddress");
  expect(error.message.startsWith(`${path}: `), error.message).toBe(true);
  if (detail) expect(error.message).toMatch(detail);
}

describe("store configurations", () => {
  it("opens a cache of a SQLite near and an object-store far, and closes every store with the root", async () => {
    const dir = await tempDir();
    const config = {
      blobservices: {
        root: { type: "cache", near: "&local", far: "&team", write: "through" },
        local: { type: "sqlite", path: join(dir, "near.sqlite"), synchronous: "normal" },
        team: { type: "objectstore+file", path: join(dir, "far"), avg_chunk_size: 65536 },
      },
    };
    const root = await openStoreConfig(config, { registry: registry() });
    const digest = await putBlob(root, bytes);
    await root.close();
    // Both tiers have it (write = through), and the files are released: open them again directly.
    const near = await SqliteBlobService.open({ path: join(dir, "near.sqlite") });
    expect(await near.has(digest)).toBe(true);
    await near.close();
    const far = await registry().open(`objectstore+file://${join(dir, "far")}`);
    expect(await getBlob(far, digest)).toEqual(bytes);
    await far.close();
  });

  it("opens a store referenced twice once, and shares it", async () => {
    const dir = await tempDir();
    const opened: BlobService[] = [];
    const counting: BlobServiceBackend = {
      scheme: "counted",
      async open() {
        const store = new MemoryBlobService();
        opened.push(store);
        return store;
      },
    };
    const config = {
      blobservices: {
        root: { type: "cache", near: "&inner", far: "&shared" },
        inner: { type: "cache", near: `sqlite://${join(dir, "inner.sqlite")}`, far: "&shared" },
        shared: { type: "counted" },
      },
    };
    const root = await openStoreConfig(config, { registry: registry().register(counting) });
    expect(opened).toHaveLength(1);
    await root.close();
    expect((opened[0] as MemoryBlobService).closed).toBe(true);
  });

  it("returns the store itself when the configuration has one store", async () => {
    const root = await openStoreConfig({ blobservices: { root: { type: "memory" } } }, { registry: registry() });
    expect(root).toBeInstanceOf(MemoryBlobService);
    await root.close();
  });

  it("closes what it opened when a later store fails to open", async () => {
    const dir = await tempDir();
    const opened: MemoryBlobService[] = [];
    const counting: BlobServiceBackend = {
      scheme: "counted",
      async open() {
        const store = new MemoryBlobService();
        opened.push(store);
        return store;
      },
    };
    const config = {
      blobservices: {
        root: { type: "cache", near: "&local", far: "&broken" },
        local: { type: "counted" },
        broken: { type: "sqlite", path: join(dir, "no-such-dir", "x.sqlite") },
      },
    };
    await expect(openStoreConfig(config, { registry: registry().register(counting) })).rejects.toThrow(
      /^blobservices\.broken/,
    );
    expect(opened).toHaveLength(1);
    expect(opened[0]?.closed).toBe(true);
  });

  describe("refuses, naming the key,", () => {
    const memory = { type: "memory" };
    it("a configuration that is not a table", async () => {
      await expect(openStoreConfig([], { registry: registry() })).rejects.toMatchObject({
        code: "InvalidAddress",
        message: expect.stringMatching(/must be a table, got a list/),
      });
    });
    it("an unknown top-level key", () => rejects({ blobservices: { root: memory }, stores: {} }, "stores"));
    it("a missing blobservices", () => rejects({}, "blobservices", /missing/));
    it("a missing root", () => rejects({ blobservices: { local: memory } }, "blobservices.root", /missing/));
    it("a store that is not a table", () => rejects({ blobservices: { root: "memory://" } }, "blobservices.root"));
    it("a missing type", () => rejects({ blobservices: { root: {} } }, "blobservices.root.type", /missing/));
    it("an unknown type, listing the known ones", () =>
      rejects({ blobservices: { root: { type: "ftp" } } }, "blobservices.root.type", /known types: cache, memory/));
    it("a dangling reference", () =>
      rejects(
        { blobservices: { root: { type: "cache", near: "&local", far: "&team" }, local: memory } },
        "blobservices.root.far",
        /dangling reference "&team"/,
      ));
    it("a reference cycle", () =>
      rejects(
        {
          blobservices: {
            root: { type: "cache", near: "&a", far: "&b" },
            a: { type: "cache", near: "&b", far: "&root" },
            b: memory,
          },
        },
        "blobservices.a.far",
        /cycle: root → a → root/,
      ));
    it("a store that references itself", () =>
      rejects(
        { blobservices: { root: { type: "cache", near: "&root", far: "&b" }, b: memory } },
        "blobservices.root.near",
        /cycle/,
      ));
    it("an unknown key in a cache", () =>
      rejects(
        { blobservices: { root: { type: "cache", near: "&a", far: "&a", nearr: "&a" }, a: memory } },
        "blobservices.root.nearr",
        /unknown key/,
      ));
    it("a bad write mode", () =>
      rejects(
        { blobservices: { root: { type: "cache", near: "&a", far: "&a", write: "back" }, a: memory } },
        "blobservices.root.write",
      ));
    it("a cache tier that is neither a reference nor a URL", () =>
      rejects({ blobservices: { root: { type: "cache", near: "&a", far: 3 }, a: memory } }, "blobservices.root.far"));
    it("a missing cache tier", () =>
      rejects(
        { blobservices: { root: { type: "cache", near: "&a" }, a: memory } },
        "blobservices.root.far",
        /missing/,
      ));
    it("an unknown option of a URL-mapped store", () =>
      rejects(
        { blobservices: { root: { type: "sqlite", colour: "blue" } } },
        "blobservices.root.colour",
        /unknown option/,
      ));
    it("a bad option value", () =>
      rejects(
        { blobservices: { root: { type: "sqlite", synchronous: "sometimes" } } },
        "blobservices.root.synchronous",
      ));
    it("a relative path", () =>
      rejects(
        { blobservices: { root: { type: "sqlite", path: "blobs.sqlite" } } },
        "blobservices.root.path",
        /absolute/,
      ));
    it("a list where a value goes", () =>
      rejects({ blobservices: { root: { type: "sqlite", synchronous: ["full"] } } }, "blobservices.root.synchronous"));
    it("a reference in a store that takes none", () =>
      rejects({ blobservices: { root: { type: "sqlite", path: "&a" }, a: memory } }, "blobservices.root.path"));
    it("a bad URL inside a cache", () =>
      rejects(
        { blobservices: { root: { type: "cache", near: "&a", far: "gopher://x" }, a: memory } },
        "blobservices.root.far",
        /unknown store scheme/,
      ));
    it("an error of a referenced store, under its own name", async () => {
      const dir = await tempDir();
      await rejects(
        {
          blobservices: {
            root: { type: "cache", near: "&a", far: "&b" },
            a: memory,
            b: { type: "sqlite", path: join(dir, "missing", "b.sqlite") },
          },
        },
        "blobservices.b",
      );
    });
  });
});

describe("third-party schemes in a configuration", () => {
  /** A store of someone else's: memory with a required `label` option, registered like any backend. */
  const labelled: BlobServiceBackend = {
    scheme: "labelled",
    async open(url) {
      requireNoHost(url);
      requireNoPath(url);
      const { label } = parseOptions(url, { label: String });
      if (!label) throw new InvalidAddressError(`${url.href}: option "label" is missing`, { option: "label" });
      return Object.assign(new MemoryBlobService(), { label });
    },
  };

  it("work by type through the generic mapping (fields become query options)", async () => {
    const config = {
      blobservices: {
        root: { type: "cache", near: "&mine", far: "memory://" },
        mine: { type: "labelled", label: "ours" },
      },
    };
    const root = await openStoreConfig(config, { registry: registry().register(labelled) });
    const digest = await putBlob(root, bytes);
    expect(await getBlob(root, digest)).toEqual(bytes);
    await root.close();
    const withLabelled = { registry: registry().register(labelled) };
    await expect(
      openStoreConfig({ blobservices: { root: { type: "labelled", label: "x", size: 3 } } }, withLabelled),
    ).rejects.toMatchObject({ message: expect.stringMatching(/^blobservices\.root\.size: .*unknown option "size"/) });
  });

  it("can compose other stores through an openConfig hook", async () => {
    const mirror: BlobServiceBackend = {
      scheme: "mirror",
      async open() {
        throw new Error("only in configurations");
      },
      async openConfig(table, context) {
        if (Object.keys(table).some((key) => key !== "of")) throw context.error("x", "unknown");
        return new CacheBlobService({ near: new MemoryBlobService(), far: await context.openStore("of") });
      },
    };
    const config = { blobservices: { root: { type: "mirror", of: "&base" }, base: { type: "memory" } } };
    const root = await openStoreConfig(config, { registry: registry().register(mirror) });
    const digest = await putBlob(root, bytes);
    expect(await getBlob(root, digest)).toEqual(bytes);
    await root.close();
  });
});

describe("cache:// addresses", () => {
  it("open a near and a far store from percent-encoded URLs", async () => {
    const dir = await tempDir();
    const near = `sqlite://${join(dir, "near.sqlite")}?synchronous=normal`;
    const far = `objectstore+file://${join(dir, "far")}`;
    const url = `cache://?near=${encodeURIComponent(near)}&far=${encodeURIComponent(far)}&write=through`;
    const cache = (await registry().open(url)) as CacheBlobService;
    expect(cache).toBeInstanceOf(CacheBlobService);
    expect(cache.write).toBe("through");
    const digest = await putBlob(cache, bytes);
    await cache.close();
    const farStore = await registry().open(far);
    expect(await getBlob(farStore, digest)).toEqual(bytes);
    await farStore.close();
  });

  it.each([
    ["cache://?near=memory%3A%2F%2F", /option "far" is missing/],
    ["cache://?far=memory%3A%2F%2F", /option "near" is missing/],
    ["cache://?near=memory%3A%2F%2F&far=memory%3A%2F%2F&write=back", /write/],
    ["cache://?near=memory%3A%2F%2F&far=memory%3A%2F%2F&size=1", /unknown option "size"/],
    ["cache://host?near=memory%3A%2F%2F&far=memory%3A%2F%2F", /no host/],
    ["cache://?near=ftp%3A%2F%2Fx&far=memory%3A%2F%2F", /unknown store scheme/],
  ])("refuse %s", async (url, message) => {
    await expect(registry().open(url)).rejects.toMatchObject({
      code: "InvalidAddress",
      message: expect.stringMatching(message),
    });
  });

  it("close the near store when the far one cannot be opened", async () => {
    const dir = await tempDir();
    const path = join(dir, "near.sqlite");
    const url = `cache://?near=${encodeURIComponent(`sqlite://${path}`)}&far=${encodeURIComponent("sqlite:///no/such/dir/x.sqlite")}`;
    await expect(registry().open(url)).rejects.toMatchObject({ code: "InvalidAddress" });
    const again = await SqliteBlobService.open({ path });
    await again.close();
  });
});
