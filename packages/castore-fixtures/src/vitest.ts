// The vitest binding of the conformance suite: `describeBlobService(name, factory, capabilities)`.
// Kept in its own entry point (castore-fixtures/vitest) so the cases themselves need no test runner.
import { describe, it } from "vitest";
import type { BlobServiceCapabilities, BlobServiceFactory, ConformanceCase } from "./capabilities.js";
import { conformanceCases } from "./cases/index.js";
import { runCase } from "./runner.js";

export interface DescribeBlobServiceOptions {
  /** Per-case timeout in milliseconds (default 60 000). */
  timeout?: number;
  /** The cases to run (default: all). */
  cases?: readonly ConformanceCase[];
}

/**
 * Declares the conformance suite as vitest tests: one test per case, grouped by area, each against a
 * fresh service from `factory` (closed afterwards, then the factory's teardown if it gave one).
 * Cases that need a capability the backend does not declare are reported as skipped, with the
 * reason in the title.
 */
export function describeBlobService(
  name: string,
  factory: BlobServiceFactory,
  capabilities: Readonly<BlobServiceCapabilities> = {},
  options: DescribeBlobServiceOptions = {},
): void {
  const timeout = options.timeout ?? 60_000;
  const groups = new Map<string, ConformanceCase[]>();
  for (const testCase of options.cases ?? conformanceCases) {
    const group = testCase.id.split("/")[0] ?? testCase.id;
    groups.set(group, [...(groups.get(group) ?? []), testCase]);
  }
  describe(`${name} BlobService conformance`, () => {
    for (const [group, cases] of groups) {
      describe(group, () => {
        for (const testCase of cases) {
          const reason = testCase.skipReason?.(capabilities);
          if (reason !== undefined) it.skip(`${testCase.title} (skipped: ${reason})`, () => {});
          else it(testCase.title, () => runCase(testCase, factory, capabilities), timeout);
        }
      });
    }
  });
}

export type { BlobServiceCapabilities, BlobServiceFactory, BlobServiceUnderTest } from "./capabilities.js";
