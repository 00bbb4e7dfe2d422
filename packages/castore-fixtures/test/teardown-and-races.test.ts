// The suite's own guarantees, against a real (small) backend: the factory's teardown releases what
// every case created, and the race cases fail a reader that ignores cancellation in every run,
// by construction (its reads wait on an I/O step outside the microtask queue), not by timing.
import { describe, expect, it } from "vitest";
import {
  abortCases,
  type CaseResult,
  type ConformanceCase,
  ConformanceFailure,
  conformanceCases,
  raceCases,
  runConformance,
} from "../src/index.js";
import { MapStore } from "./support/map-store.js";

const CAPABILITIES = { backwardSeek: true, seekFromEnd: true };
const byId = (id: string) => [...raceCases, ...abortCases].find((c) => c.id === id) as ConformanceCase;
const cancellationCases = [byId("reader/close-during-read"), byId("abort/mid-read")];
const failures = (results: CaseResult[]) =>
  results.filter((r) => r.status === "failed").map((r) => `${r.id}: ${String((r as { error: unknown }).error)}`);

describe("the factory's teardown", () => {
  it("releases what every case created, across the whole suite", async () => {
    const live = new Set<MapStore>();
    let created = 0;
    let released = 0;
    const results = await runConformance(() => {
      const service = new MapStore();
      created++;
      live.add(service);
      return {
        service,
        teardown: () => {
          // Runs once the service is closed.
          expect(service.closed).toBe(true);
          live.delete(service);
          released++;
        },
      };
    }, CAPABILITIES);
    expect(failures(results)).toEqual([]);
    const ran = results.filter((r) => r.status !== "skipped").length;
    expect(ran).toBeGreaterThan(40);
    expect(created).toBe(ran);
    expect(released).toBe(created);
    expect(live.size).toBe(0);
  });

  it("runs after a failed case, and its own failure fails a case that passed", async () => {
    const counts = { created: 0, released: 0 };
    const cases: ConformanceCase[] = [
      { id: "t/passes", title: "passes", run: async () => {} },
      {
        id: "t/fails",
        title: "fails",
        run: async () => {
          throw new ConformanceFailure("broken");
        },
      },
    ];
    const factory = () => {
      counts.created++;
      return { service: new MapStore(), teardown: () => void counts.released++ };
    };
    const results = await runConformance(factory, {}, { cases });
    expect(results.map((r) => r.status)).toEqual(["passed", "failed"]);
    expect(counts).toEqual({ created: 2, released: 2 });

    const failingTeardown = () => ({
      service: new MapStore(),
      teardown: () => Promise.reject(new Error("could not remove the directory")),
    });
    const [passed, failed] = await runConformance(failingTeardown, {}, { cases });
    expect(String((passed as { error: unknown }).error)).toMatch(
      /teardown failed after the case: Error: could not remove the directory/,
    );
    // A failed case keeps its own report.
    expect(String((failed as { error: unknown }).error)).toMatch(/broken/);
  });

  it("accepts a factory that returns the service alone", async () => {
    const results = await runConformance(() => new MapStore(), CAPABILITIES, { cases: cancellationCases });
    expect(failures(results)).toEqual([]);
  });
});

describe("the cancellation cases", () => {
  const RUNS = 10;

  it(`fail a reader that ignores cancellation in every run (${RUNS} runs)`, async () => {
    for (let run = 0; run < RUNS; run++) {
      const results = await runConformance(() => new MapStore({ honoursSignal: false }), CAPABILITIES, {
        cases: cancellationCases,
      });
      expect(results.map((r) => r.status)).toEqual(["failed", "failed"]);
      for (const result of results) {
        expect(String((result as { error: unknown }).error)).toMatch(/ignores cancellation/);
      }
    }
  });

  it(`pass the same reader racing its I/O against the signal in every run (${RUNS} runs)`, async () => {
    for (let run = 0; run < RUNS; run++) {
      const results = await runConformance(() => new MapStore({ honoursSignal: true }), CAPABILITIES, {
        cases: cancellationCases,
      });
      expect(failures(results)).toEqual([]);
    }
  });

  it("are in the suite every backend runs", () => {
    for (const testCase of cancellationCases) expect(conformanceCases).toContain(testCase);
  });
});
