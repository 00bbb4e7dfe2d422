// Builds the test page (page.ts) the way applications build theirs: esbuild and vite, targeting
// browsers, resolving castore-grpc by its package name (self-reference through `exports`, so the
// `browser` condition picks the browser entry). Nothing is copied by hand: castore-core's hasher
// has its WebAssembly module inlined.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { build as esbuild, type Metafile } from "esbuild";

const pageModule = join(import.meta.dirname, "page.ts");
/** The script the bundlers start from: the page module, installed. */
const entrySource = `import { install } from ${JSON.stringify(pageModule)};\ninstall();\n`;

export interface BuiltPage {
  /** The bundler that built it. */
  bundler: "esbuild" | "vite";
  /** The page's HTML, which loads `script`. */
  html: string;
  /** The JavaScript files, by path relative to the page. */
  files: Map<string, Uint8Array>;
}

function html(script: string): string {
  return `<!doctype html><meta charset="utf-8"><title>castore page</title><script type="module" src="${script}"></script>`;
}

/** The page bundled by esbuild (minified, browser platform). */
export async function buildWithEsbuild(
  options: { minify?: boolean } = {},
): Promise<BuiltPage & { metafile: Metafile }> {
  const result = await esbuild({
    stdin: { contents: entrySource, resolveDir: import.meta.dirname, sourcefile: "main.js", loader: "js" },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: options.minify ?? true,
    write: false,
    metafile: true,
    outfile: "page.js",
    logLevel: "silent",
    // As for a consumer: no tsconfig "paths" of this workspace (which point into src/) apply.
    tsconfigRaw: "{}",
  });
  const files = new Map(result.outputFiles.map((file) => [file.path.split("/").pop() as string, file.contents]));
  return { bundler: "esbuild", html: html("./page.js"), files, metafile: result.metafile };
}

/** The page bundled by vite (its production build, into a temporary directory). */
export async function buildWithVite(outDir: string): Promise<BuiltPage> {
  const { build } = await import("vite");
  const root = join(outDir, "src");
  await mkdir(root, { recursive: true });
  await writeFile(join(root, "main.js"), entrySource);
  await writeFile(join(root, "index.html"), html("./main.js"));
  await build({
    root,
    logLevel: "silent",
    configFile: false,
    build: { outDir: join(outDir, "dist"), emptyOutDir: true, target: "es2022" },
  });
  const built = await readFile(join(outDir, "dist", "index.html"), "utf8");
  const scripts = [...built.matchAll(/src="\/?([^"]+\.js)"/g)].map((match) => match[1] as string);
  const files = new Map<string, Uint8Array>();
  for (const script of scripts) files.set(script, await readFile(join(outDir, "dist", script)));
  return { bundler: "vite", html: built.replaceAll('src="/', 'src="./'), files };
}
