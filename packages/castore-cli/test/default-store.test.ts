import { describe, expect, it } from "vitest";
import { defaultStorePath, sqliteAddress } from "../src/default-store.js";
import { chooseStore } from "../src/store.js";

describe("defaultStorePath", () => {
  it("uses XDG_DATA_HOME when it is absolute", () => {
    expect(defaultStorePath({ XDG_DATA_HOME: "/x/data", HOME: "/home/u" })).toBe("/x/data/castore/blobs.sqlite");
  });

  it("falls back to ~/.local/share when XDG_DATA_HOME is unset, empty or relative", () => {
    for (const xdg of [undefined, "", "relative/data"]) {
      expect(defaultStorePath({ XDG_DATA_HOME: xdg, HOME: "/home/u" })).toBe(
        "/home/u/.local/share/castore/blobs.sqlite",
      );
    }
  });
});

describe("sqliteAddress", () => {
  it("percent-encodes the path", () => {
    expect(sqliteAddress("/a b/c#d/blobs.sqlite")).toBe("sqlite:///a%20b/c%23d/blobs.sqlite");
  });
});

describe("chooseStore", () => {
  const env = { HOME: "/home/u", CASTORE_BLOB_SERVICE_ADDR: "memory://" };

  it("prefers the flag, then the environment (for clients), then the default store", () => {
    expect(chooseStore("grpc+http://h:1", env, true)).toEqual({ address: "grpc+http://h:1" });
    expect(chooseStore(undefined, env, true)).toEqual({ address: "memory://" });
    expect(chooseStore(undefined, { HOME: "/home/u" }, true)).toEqual({
      address: "sqlite:///home/u/.local/share/castore/blobs.sqlite",
      defaultPath: "/home/u/.local/share/castore/blobs.sqlite",
    });
  });

  it("ignores the environment variable for the daemon", () => {
    expect(chooseStore(undefined, env, false).defaultPath).toBe("/home/u/.local/share/castore/blobs.sqlite");
  });
});
