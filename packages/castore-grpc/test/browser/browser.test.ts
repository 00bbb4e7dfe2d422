// castore in a real browser: Debian's Chromium, headless, driven by playwright-core. The page is
// built with esbuild and with vite (nothing copied by hand) and served from its own origin; the blob
// server (serveBlobService with CORS for that origin) and a memory store run in this process.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestOf, getBlob, putBlob } from "castore-core";
import { MemoryBlobService } from "castore-memory";
import { corruptForTesting } from "castore-memory/testing";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BlobServer, serveBlobService } from "../../src/server/serve.js";
import { chromiumUnavailable, launchChromium } from "./browser.js";
import { type BuiltPage, buildWithEsbuild, buildWithVite } from "./bundle.js";
import { type PageServer, servePage } from "./page-server.js";
import { patterned } from "./patterned.js";

const unavailable = chromiumUnavailable();
if (unavailable) console.warn(`browser tests skipped: ${unavailable}`);

/** Calls `window.castore[name](...args)` in the page (see page.ts) and returns what it resolves to. */
function call(page: Page, name: string, ...args: unknown[]): Promise<unknown> {
  return page.evaluate(
    ([method, params]) => {
      const api = (globalThis as unknown as { castore: Record<string, (...a: unknown[]) => unknown> }).castore;
      return (api[method] as (...a: unknown[]) => unknown)(...params);
    },
    [name, args] as [string, unknown[]],
  );
}

const MiB = 1 << 20;

describe.skipIf(unavailable !== undefined)("castore-grpc in Chromium", { timeout: 120_000 }, () => {
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  const pages = new Map<string, { server: PageServer; page: Page }>();
  const viteDir = mkdtempSync(join(tmpdir(), "castore-vite-"));
  let store: MemoryBlobService;
  let server: BlobServer;

  async function open(built: BuiltPage): Promise<void> {
    const pageServer = await servePage(built);
    const page = await chromium.browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(`${built.bundler} page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`${built.bundler} console: ${message.text()}`);
    });
    await page.goto(pageServer.origin);
    if (problems.length > 0) console.error(problems.join("\n"));
    await page
      .waitForFunction(
        () => (globalThis as unknown as { document: { title: string } }).document.title === "castore page ready",
      )
      .catch((error: unknown) => {
        throw new Error(`the ${built.bundler} page did not load: ${problems.join("; ") || String(error)}`);
      });
    pages.set(built.bundler, { server: pageServer, page });
  }

  beforeAll(async () => {
    chromium = await launchChromium();
    const [esbuilt, vited] = await Promise.all([buildWithEsbuild(), buildWithVite(viteDir)]);
    await open(esbuilt);
    await open(vited);
    store = new MemoryBlobService();
    const origins = [...pages.values()].map(({ server }) => server.origin);
    server = await serveBlobService(store, { listen: { port: 0 }, cors: { allowedOrigins: origins } });
  }, 120_000);

  afterAll(async () => {
    await chromium?.close();
    for (const { server: pageServer } of pages.values()) await pageServer.close();
    await server?.close({ timeoutMs: 2_000 });
    await store?.close();
    rmSync(viteDir, { recursive: true, force: true });
  });

  const esbuildPage = () => (pages.get("esbuild") as { page: Page }).page;

  it.each(["esbuild", "vite"])("bundled by %s, selects the browser entry and hashes like Node", async (bundler) => {
    const page = (pages.get(bundler) as { page: Page }).page;
    expect(await call(page, "browserEntry")).toBe(true);
    expect(await call(page, "digestOfText", "Hello World!")).toBe("b3:XKeBWty0hOmhNsEe/mnB1TAXbVSbXRjQOOtSgLSzRww=");
    for (const [length, seed] of [
      [0, 1],
      [1, 2],
      [1025, 3],
      [5 * MiB + 3, 4],
    ] as const) {
      const inPage = await call(page, "digestOfPatterned", length, seed);
      expect(inPage, `${length} bytes`).toBe((await digestOf(patterned(length, seed))).toString());
    }
  });

  it("reads a 5 MiB chunked blob, verified, over gRPC-Web and Connect: has, chunks, random access", async () => {
    const data = patterned(5 * MiB + 7, 5);
    const digest = (await putBlob(store, data)).toString();
    const page = esbuildPage();
    expect(await call(page, "has", server.address, digest)).toEqual({ ok: true });
    const absent = (await digestOf(patterned(10, 6))).toString();
    expect(await call(page, "has", server.address, absent)).toEqual({ ok: false });
    expect(await call(page, "readDigest", server.address, digest, "grpc-web")).toEqual({ ok: digest });
    expect(await call(page, "readDigest", server.address, digest, "connect")).toEqual({ ok: digest });
    // The memory store chunks it (FastCDC): the page gets the list and a reader that seeks anywhere.
    const listed = (await call(page, "chunks", server.address, digest)) as {
      ok: { sizes: number[]; seekable: boolean };
    };
    expect(listed.ok.sizes.length).toBeGreaterThanOrEqual(2);
    expect(listed.ok.sizes.reduce((a, b) => a + b, 0)).toBe(data.length);
    expect(listed.ok.seekable).toBe(true);
    // Forward, backward, across chunk boundaries, to the very end.
    const ranges: [number, number][] = [
      [3 * MiB + 12345, 65536],
      [0, 100],
      [5 * MiB, 7],
      [MiB - 5, 300_000],
      [2 * MiB, MiB],
    ];
    const expected = await Promise.all(
      ranges.map(async ([offset, length]) => (await digestOf(data.subarray(offset, offset + length))).toString()),
    );
    expect(await call(page, "readRanges", server.address, digest, ranges)).toEqual({ ok: expected });
  });

  it("uploads a 20 MiB File, and Node reads back the same bytes", async () => {
    const length = 20 * MiB + 11;
    const result = await call(esbuildPage(), "uploadFile", server.address, length, 7);
    const expected = await digestOf(patterned(length, 7));
    expect(result).toEqual({ ok: expected.toString() });
    // Compared as a Buffer: vitest's deep equality on 20 MiB of array elements would exhaust memory.
    const stored = await getBlob(store, expected);
    expect(stored && Buffer.from(stored).equals(patterned(length, 7))).toBe(true);
  });

  it("fails a read of a blob with a corrupted chunk with Integrity", async () => {
    const data = patterned(3 * MiB, 8);
    const digest = await putBlob(store, data);
    const chunks = await store.chunks(digest);
    const middle = chunks?.[Math.floor((chunks?.length ?? 0) / 2)];
    if (!middle) throw new Error("the memory store did not chunk 3 MiB");
    expect(corruptForTesting(store, middle.digest)).toBe(true);
    const result = await call(esbuildPage(), "readDigest", server.address, digest.toString(), "grpc-web");
    expect(result).toMatchObject({ error: { code: "Integrity" } });
  });

  it("reports an unreachable server as UNAVAILABLE", async () => {
    const gone = await serveBlobService(new MemoryBlobService(), { listen: { port: 0 } });
    await gone.close();
    const digest = (await digestOf(patterned(10, 9))).toString();
    const result = await call(esbuildPage(), "has", gone.address, digest);
    expect(result).toMatchObject({
      error: { code: "Unavailable", message: expect.stringMatching(/server unreachable/) },
    });
  });
});
