// The conformance suite tested against deliberately broken backends: each bug must make the cases
// that target it fail. A healthy wrapper passes everything, so the failures come from the bugs.
import { conformanceCases, runConformance } from "castore-fixtures";
import { describe, expect, it } from "vitest";
import { brokenBackends, ForwardingService, forwardingCapabilities } from "./support/broken-backends.js";

describe("the conformance suite", () => {
  it("passes a healthy wrapper around the memory backend", async () => {
    const results = await runConformance(() => new ForwardingService(), forwardingCapabilities, { timeout: 10_000 });
    const failed = results.filter((r) => r.status === "failed");
    expect(failed.map((r) => `${r.id}: ${r.status === "failed" ? String(r.error) : ""}`)).toEqual([]);
  }, 60_000);

  it.each(brokenBackends)(
    "fails a backend that $name",
    async ({ create, mustFail, only }) => {
      const cases = only ? conformanceCases.filter((c) => mustFail.includes(c.id)) : undefined;
      const results = await runConformance(create, forwardingCapabilities, { timeout: 10_000, cases });
      const failed = new Set(results.filter((r) => r.status === "failed").map((r) => r.id));
      for (const id of mustFail)
        expect(
          results.some((r) => r.id === id),
          `unknown case ${id}`,
        ).toBe(true);
      expect(mustFail.filter((id) => !failed.has(id))).toEqual([]);
    },
    60_000,
  );
});
