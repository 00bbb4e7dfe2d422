// The store's statistics as metrics: one call into the store per scrape (every metric of a scrape
// shows the same snapshot), and a fresh one for the next scrape.
import * as prom from "prom-client";
import { describe, expect, it } from "vitest";
import { registerStoreMetrics } from "../src/daemon/store-metrics.js";

describe("store metrics", () => {
  it("read the store once per scrape, afresh for each scrape, with tiers as labels", async () => {
    const registry = new prom.Registry();
    let calls = 0;
    registerStoreMetrics(prom, registry, () => {
      calls++;
      return { blobs: calls, chunksWritten: 10 * calls, tiers: { near: { storedBytes: 7 } } };
    });
    const first = await registry.metrics();
    expect(calls).toBe(1);
    expect(first).toContain('castore_store_blobs{tier="root"} 1\n');
    expect(first).toContain('castore_chunks_written_total{tier="root"} 10\n');
    expect(first).toContain('castore_store_bytes{tier="near"} 7\n');
    const second = await registry.metrics();
    expect(calls).toBe(2);
    expect(second).toContain('castore_store_blobs{tier="root"} 2\n');
    expect(second).toContain('castore_chunks_written_total{tier="root"} 20\n');
  });
});
