// The browser entry bundles for browsers: no Node built-in anywhere in its imports, and the
// `browser` condition of the package root selects it. (test/browser runs it in Chromium.)
import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const packageDir = join(import.meta.dirname, "..");

async function bundle(specifier: string) {
  const result = await build({
    stdin: { contents: `export * from ${JSON.stringify(specifier)};`, resolveDir: packageDir, loader: "js" },
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
    metafile: true,
    logLevel: "silent",
    tsconfigRaw: "{}",
  });
  return Object.keys(result.metafile.inputs);
}

describe("the browser entry", () => {
  it.each(["castore-grpc/web", "castore-grpc"])(
    "%s bundles for browsers without a Node built-in",
    async (specifier) => {
      const inputs = await bundle(specifier);
      expect(inputs.filter((input) => input.startsWith("node:") || /connect-node|node:/.test(input))).toEqual([]);
      expect(inputs).toContain("dist/web/index.js");
      expect(inputs).not.toContain("dist/server/serve.js");
    },
  );

  it("is refused by esbuild when the Node entry is bundled for browsers (the check above can fail)", async () => {
    await expect(bundle("./dist/index.js")).rejects.toThrow(/node:/);
  });
});
