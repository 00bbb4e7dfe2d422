import type { BlobService } from "castore-core";
import { ConformanceFailure, settled } from "./assertions.js";
import type {
  BlobServiceCapabilities,
  BlobServiceFactory,
  BlobServiceUnderTest,
  ConformanceCase,
} from "./capabilities.js";
import { conformanceCases } from "./cases/index.js";

/** The outcome of one case. */
export type CaseResult =
  | { readonly id: string; readonly title: string; readonly status: "passed" }
  | { readonly id: string; readonly title: string; readonly status: "skipped"; readonly reason: string }
  | { readonly id: string; readonly title: string; readonly status: "failed"; readonly error: unknown };

/**
 * Runs one case against a fresh service from `factory`, closes the service afterwards and then runs
 * the factory's teardown, if it gave one (also when the case failed). Rejects when the case fails,
 * the service does not close cleanly or the teardown fails. Does not look at skipReason: callers
 * decide what to skip (see {@link runConformance}).
 */
export async function runCase(
  testCase: ConformanceCase,
  factory: BlobServiceFactory,
  capabilities: Readonly<BlobServiceCapabilities> = {},
): Promise<void> {
  const { service, teardown } = underTest(await factory());
  let outcome: { failed: false } | { failed: true; error: unknown } = { failed: false };
  try {
    await runAndClose(testCase, service, capabilities);
  } catch (error) {
    outcome = { failed: true, error };
  }
  if (teardown) {
    try {
      await teardown();
    } catch (error) {
      // The case's own failure is the better report; a teardown failure fails a case that passed.
      if (!outcome.failed) {
        outcome = {
          failed: true,
          error: new ConformanceFailure(`the factory's teardown failed after the case: ${String(error)}`, {
            cause: error,
          }),
        };
      }
    }
  }
  if (outcome.failed) throw outcome.error;
}

/** A factory's result as a service and its teardown. */
function underTest(created: BlobService | BlobServiceUnderTest): BlobServiceUnderTest {
  const { service } = created as Partial<BlobServiceUnderTest>;
  return typeof service === "object" && service !== null
    ? (created as BlobServiceUnderTest)
    : { service: created as BlobService };
}

async function runAndClose(
  testCase: ConformanceCase,
  service: BlobService,
  capabilities: Readonly<BlobServiceCapabilities>,
): Promise<void> {
  try {
    await testCase.run({ service, capabilities });
  } catch (error) {
    // The case's own failure is the more useful report; still release the service, without
    // waiting for ever on a service that the failure left hanging.
    await settled(service.close(), "service.close()").catch(() => {});
    throw error;
  }
  try {
    await service.close();
  } catch (error) {
    throw new ConformanceFailure(`service.close() failed after the case: ${String(error)}`, { cause: error });
  }
}

export interface RunConformanceOptions {
  /** The cases to run (default: all of {@link conformanceCases}). */
  cases?: readonly ConformanceCase[];
  /**
   * A case still running after this many milliseconds is reported as failed (default 60 000), so a
   * backend that hangs (for example by ignoring an abort) fails instead of stalling the run. The
   * hung case cannot be stopped; it is left behind.
   */
  timeout?: number;
}

/**
 * Runs the suite without a test runner, one case after another, and reports every case as passed,
 * failed or skipped (with the reason). For runners other than vitest, and for testing the suite.
 */
export async function runConformance(
  factory: BlobServiceFactory,
  capabilities: Readonly<BlobServiceCapabilities> = {},
  options: RunConformanceOptions = {},
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const testCase of options.cases ?? conformanceCases) {
    const { id, title } = testCase;
    const reason = testCase.skipReason?.(capabilities);
    if (reason !== undefined) {
      results.push({ id, title, status: "skipped", reason });
      continue;
    }
    try {
      await withTimeout(runCase(testCase, factory, capabilities), options.timeout ?? 60_000);
      results.push({ id, title, status: "passed" });
    } catch (error) {
      results.push({ id, title, status: "failed", error });
    }
  }
  return results;
}

function withTimeout(promise: Promise<void>, milliseconds: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ConformanceFailure(`the case did not finish within ${milliseconds} ms`)),
      milliseconds,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
