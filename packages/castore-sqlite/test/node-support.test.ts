import { isCastoreError } from "castore-core";
import { describe, expect, it } from "vitest";
import { assertSupportedNode } from "../src/node-support.js";

describe("the Node version check before better-sqlite3 is touched", () => {
  it.each(["22.12.0", "22.20.1", "24.0.0", "24.21.0", "26.0.0", "27.3.1"])("accepts Node %s", (version) => {
    expect(() => assertSupportedNode(version)).not.toThrow();
  });

  it.each(["18.20.4", "20.20.2", "22.11.0", "23.11.0", "25.1.0"])(
    "refuses Node %s with a clear Unsupported error",
    (version) => {
      let error: unknown;
      try {
        assertSupportedNode(version);
      } catch (caught) {
        error = caught;
      }
      expect(isCastoreError(error, "Unsupported"), String(error)).toBe(true);
      expect(String(error)).toContain(`this is Node ${version}`);
      expect(String(error)).toContain("^22.12.0 || ^24.0.0 || >=26.0.0");
    },
  );

  it("accepts the Node running this test (the suite runs on a supported one)", () => {
    expect(() => assertSupportedNode()).not.toThrow();
  });
});
