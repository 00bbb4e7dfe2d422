// The public surface: the store's API at the root, test hooks only under castore-sqlite/testing.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as root from "../src/index.js";
import * as testing from "../src/testing.js";

describe("entry points", () => {
  it("the root exports the store's API and no test hooks", () => {
    expect(Object.keys(root).sort()).toEqual([
      "SCHEMA_VERSION",
      "SqliteBlobService",
      "openSqliteBlobService",
      "sqliteBackend",
    ]);
    expect("released" in root.SqliteBlobService.prototype).toBe(false);
  });

  it("castore-sqlite/testing exports the test hooks", async () => {
    expect(Object.keys(testing).sort()).toEqual(["isReleased", "leaseTick", "openWithHooks", "settleEviction"]);
    const service = await root.openSqliteBlobService();
    expect(testing.isReleased(service)).toBe(false);
    await service.close();
    expect(testing.isReleased(service)).toBe(true);
    const { exports } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    expect(exports["./testing"]).toEqual({ types: "./dist/testing.d.ts", default: "./dist/testing.js" });
  });
});
