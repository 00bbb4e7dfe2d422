import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadNativeBlake3 } from "../src/hashing/hasher-node.js";

const packageDir = join(import.meta.dirname, "..");

describe("the browser hasher (WebAssembly module inlined)", () => {
  it("is generated from the installed blake3-wasm (the committed file is not stale)", () => {
    // Exits non-zero, failing the test, when src/gen/blake3-wasm-inline.ts differs from the script's output.
    execFileSync(process.execPath, [join(packageDir, "scripts/inline-wasm.mjs"), "--check"], { encoding: "utf8" });
  });

  it("loads without fetching anything and hashes like the native binding", async () => {
    const fetched: unknown[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (...args: unknown[]) => {
      fetched.push(args[0]);
      throw new Error("the browser hasher must not fetch its module");
    }) as typeof fetch;
    try {
      const { loadBlake3 } = await import("../src/hashing/hasher-browser.js");
      const wasm = await loadBlake3();
      expect(wasm.name).toBe("wasm");
      const native = loadNativeBlake3();
      const data = new Uint8Array(3 << 20).map((_, i) => (i * 31 + (i >> 11)) & 255);
      const hasher = wasm.createHasher();
      hasher.update(data);
      const expected = native?.createHasher();
      expected?.update(data);
      const digest = hasher.digest();
      expect(digest.length).toBe(32);
      if (expected) expect(digest).toEqual(expected.digest());
    } finally {
      globalThis.fetch = realFetch;
    }
    expect(fetched).toEqual([]);
  });
});
