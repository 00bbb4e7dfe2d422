// Measurements, not tests: the browser bundle's size and browser upload/download throughput next to
// plain fetches of the same bytes. Run on demand (`CASTORE_BROWSER_MEASURE=1 pnpm exec vitest run
// test/browser/measure.test.ts`); figures are printed, never asserted (the machine may be busy).
import { gzipSync } from "node:zlib";
import { MemoryBlobService } from "castore-memory";
import { build } from "esbuild";
import { describe, it } from "vitest";
import { serveBlobService } from "../../src/server/serve.js";
import { chromiumUnavailable, launchChromium } from "./browser.js";
import { buildWithEsbuild } from "./bundle.js";
import { servePage } from "./page-server.js";

const enabled = process.env.CASTORE_BROWSER_MEASURE === "1";

/** Minified and gzipped size of an app entry that uses castore-grpc in the browser. */
async function bundleSize(source: string): Promise<{ minified: number; gzipped: number }> {
  const result = await build({
    stdin: { contents: source, resolveDir: import.meta.dirname, loader: "js" },
    bundle: true,
    format: "esm",
    platform: "browser",
    minify: true,
    write: false,
    tsconfigRaw: "{}",
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array(0);
  return { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length };
}

describe.skipIf(!enabled)("browser measurements", () => {
  it("bundle sizes", async () => {
    const reader = await bundleSize(
      `import { GrpcWebBlobService } from "castore-grpc"; import { getBlob } from "castore-core";
       export const read = (a, d) => getBlob(new GrpcWebBlobService(a), d);`,
    );
    const readerWriter = await bundleSize(
      `import { GrpcWebBlobService } from "castore-grpc"; import { getBlob, putBlob } from "castore-core";
       export const read = (a, d) => getBlob(new GrpcWebBlobService(a), d);
       export const write = (a, b) => putBlob(new GrpcWebBlobService(a), b);`,
    );
    console.log("bundle sizes (bytes):", JSON.stringify({ reader, readerWriter }));
  });

  it.skipIf(chromiumUnavailable() !== undefined)("throughput in Chromium", { timeout: 600_000 }, async () => {
    const chromium = await launchChromium();
    const pageServer = await servePage(await buildWithEsbuild());
    const store = new MemoryBlobService();
    const server = await serveBlobService(store, {
      listen: { port: 0 },
      cors: { allowedOrigins: [pageServer.origin] },
    });
    const page = await chromium.browser.newPage();
    await page.goto(pageServer.origin);
    await page.waitForFunction(() => (globalThis as unknown as { castore?: unknown }).castore !== undefined);
    for (let run = 0; run < 2; run++) {
      const figures = await page.evaluate(
        ([address, origin]) =>
          (globalThis as unknown as { castore: { throughput: (...a: unknown[]) => unknown } }).castore.throughput(
            address,
            origin,
            64 << 20,
          ),
        [server.address, pageServer.origin],
      );
      console.log(`throughput, 64 MiB, MB/s (run ${run + 1}):`, JSON.stringify(figures));
    }
    await chromium.close();
    await pageServer.close();
    await server.close({ timeoutMs: 2_000 });
    await store.close();
  });
});
