// The runner's own plumbing: skipping, failing, timing out and closing. A real backend's results are
// tested in castore-memory (the suite against memory and against deliberately broken backends).
import type { BlobService } from "castore-core";
import { describe, expect, it } from "vitest";
import {
  type ConformanceCase,
  ConformanceFailure,
  conformanceCases,
  integrityCases,
  lifecycleCases,
  runConformance,
} from "../src/index.js";

/** A stand-in service that only counts how often it was created and closed. */
function countingFactory() {
  const counts = { created: 0, closed: 0 };
  const factory = () => {
    counts.created++;
    return {
      close: async () => {
        counts.closed++;
      },
    } as unknown as BlobService;
  };
  return { counts, factory };
}

describe("runConformance", () => {
  it("skips cases whose capability is not declared, with the reason, without creating a service", async () => {
    const { counts, factory } = countingFactory();
    const results = await runConformance(factory, {}, { cases: integrityCases });
    expect(results.length).toBe(integrityCases.length);
    for (const result of results) {
      expect(result).toMatchObject({ status: "skipped", reason: "backend does not declare corrupt" });
    }
    expect(counts.created).toBe(0);
  });

  it("runs cases that check how an undeclared capability is refused only when it is not declared", () => {
    const refusal = conformanceCases.find((c) => c.id === "reader/backward-seek-refused")!;
    expect(refusal.skipReason?.({})).toBeUndefined();
    expect(refusal.skipReason?.({ backwardSeek: true })).toBe("backend declares backwardSeek");
  });

  it("reports failures and hung cases, and closes a fresh service after every case", async () => {
    const { counts, factory } = countingFactory();
    const cases: ConformanceCase[] = [
      { id: "t/passes", title: "passes", run: async () => {} },
      {
        id: "t/fails",
        title: "fails",
        run: async () => {
          throw new ConformanceFailure("broken");
        },
      },
      { id: "t/hangs", title: "hangs", run: () => new Promise(() => {}) },
    ];
    const results = await runConformance(factory, {}, { cases, timeout: 50 });
    expect(results.map((r) => r.status)).toEqual(["passed", "failed", "failed"]);
    expect(String((results[1] as { error: unknown }).error)).toMatch(/broken/);
    expect(String((results[2] as { error: unknown }).error)).toMatch(/did not finish within 50 ms/);
    expect(counts.created).toBe(3);
    // The hung case still holds its service: it cannot be stopped.
    expect(counts.closed).toBe(2);
  });

  it("fails a case when the service does not close cleanly", async () => {
    const factory = () => ({ close: async () => Promise.reject(new Error("stuck")) }) as unknown as BlobService;
    const [result] = await runConformance(factory, {}, { cases: [{ id: "t/ok", title: "ok", run: async () => {} }] });
    expect(result?.status).toBe("failed");
    expect(String((result as { error: unknown }).error)).toMatch(
      /service.close\(\) failed after the case: Error: stuck/,
    );
  });
});

describe("the case list", () => {
  it("has unique ids of the form group/name", () => {
    const ids = conformanceCases.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z]+\/[a-z0-9-_]+$/);
  });

  it("covers every area the issue names", () => {
    const groups = new Set(conformanceCases.map((c) => c.id.split("/")[0]));
    expect([...groups]).toEqual([
      "absent",
      "roundtrip",
      "reader",
      "writer",
      "abort",
      "concurrency",
      "integrity",
      "chunks",
      "lifecycle",
    ]);
    expect(lifecycleCases.length).toBeGreaterThan(0);
  });
});
