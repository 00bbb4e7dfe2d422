// The entries of castore that move big blobs in a process of their own (castore-grpc's client and
// server, castore-sqlite's store) prime glibc's allocator themselves (castore-core's
// primeMallocThresholds): a library user's process gets what the castore command gets. Measured
// as the page faults of a burst of frees in a fresh process after the entry ran.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BURST_PAGES, onGlibc, pageFaultsOfBursts } from "./page-faults.mjs";

/** castore-cli depends on every package these entries come from. */
const cwd = join(import.meta.dirname, "..", "packages", "castore-cli");

if (!onGlibc) console.log("SKIPPED the entries' malloc priming: this Node does not run on glibc");

describe.skipIf(!onGlibc)("entries that prime glibc's allocator", () => {
  const entries = {
    "castore-grpc's client (new GrpcBlobService)": `
      const { GrpcBlobService } = await import("castore-grpc");
      await new GrpcBlobService("grpc+http://127.0.0.1:1").close();`,
    "castore-grpc's server (serveBlobService)": `
      const { serveBlobService } = await import("castore-grpc");
      const { MemoryBlobService } = await import("castore-memory");
      const server = await serveBlobService(new MemoryBlobService(), { listen: { host: "127.0.0.1", port: 0 } });
      await server.close();`,
    "castore-sqlite's store (openSqliteBlobService)": `
      const { openSqliteBlobService } = await import("castore-sqlite");
      await (await openSqliteBlobService()).close();`,
  };

  it.each(Object.entries(entries))("%s", (_name, setup) => {
    // Unprimed, the bursts fault in tens of thousands of pages (22,600 to 48,500 measured); primed,
    // about 1,400 (see castore-core's test of primeMallocThresholds).
    expect(pageFaultsOfBursts(setup, cwd)).toBeLessThan(BURST_PAGES / 10);
  });
});
