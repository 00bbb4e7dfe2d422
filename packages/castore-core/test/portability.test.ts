import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const packageDir = join(import.meta.dirname, "..");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(dir, entry.name)]
        : [],
  );
}

describe("browser portability", () => {
  it("imports node: modules only in the Node-only files (those only the Node build compiles)", () => {
    const nodeBuild = JSON.parse(readFileSync(join(packageDir, "tsconfig.build-node.json"), "utf8")) as {
      files: string[];
    };
    const nodeOnly = nodeBuild.files.map((file) => relative("src", file)).sort();
    expect(nodeOnly).toContain("node.ts");
    const offenders = sourceFiles(join(packageDir, "src"))
      .filter((file) => /from\s+["']node:|import\(["']node:|require\(["']node:/.test(readFileSync(file, "utf8")))
      .map((file) => relative(join(packageDir, "src"), file))
      .sort();
    expect(offenders).toEqual(nodeOnly);
  });

  it("builds without any ambient types (the browser build uses types: [])", () => {
    const config = JSON.parse(readFileSync(join(packageDir, "tsconfig.build.json"), "utf8"));
    expect(config.compilerOptions.types).toEqual([]);
  });
});

describe("without the native binding", () => {
  it("falls back to WebAssembly BLAKE3 and still hashes correctly", () => {
    // A resolve hook makes @napi-rs/blake-hash unresolvable, as on a platform without a prebuilt binary.
    const hideNative = `
      import { registerHooks } from "node:module";
      registerHooks({ resolve(specifier, context, next) {
        if (specifier.startsWith("@napi-rs/blake-hash")) throw Object.assign(new Error("not installed"), { code: "MODULE_NOT_FOUND" });
        return next(specifier, context);
      } });`;
    const program = `
      import { blake3, digestOf } from "castore-core";
      const impl = await blake3();
      const digest = await digestOf(new TextEncoder().encode("Hello World!"));
      console.log(impl.name, digest.toHex());`;
    const out = execFileSync(
      process.execPath,
      ["--import", `data:text/javascript,${encodeURIComponent(hideNative)}`, "--input-type=module", "-e", program],
      { cwd: packageDir, encoding: "utf8" },
    );
    expect(out.trim()).toBe("wasm 5ca7815adcb484e9a136c11efe69c1d530176d549b5d18d038eb5280b4b3470c");
  });
});
