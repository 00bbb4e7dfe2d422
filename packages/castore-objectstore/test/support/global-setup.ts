import type { TestProject } from "vitest/node";
import { type GatewayTarget, startGateway, stopGateway } from "../../scripts/gateway.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    gateway: GatewayTarget;
  }
}

/**
 * Starts a real S3 server (Ceph RGW) once for the whole run, or records why it cannot, so the S3
 * tests skip with that reason printed. CASTORE_TEST_S3=0 skips them on purpose; CASTORE_TEST_S3=1
 * turns "cannot start" into a failure (for CI, where the gateway must run).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let target: GatewayTarget;
  if (process.env.CASTORE_TEST_S3 === "0") target = { available: false, reason: "CASTORE_TEST_S3=0" };
  else target = await startGateway("castore-test");
  if (!target.available) {
    if (process.env.CASTORE_TEST_S3 === "1") throw new Error(`CASTORE_TEST_S3=1 but no S3 gateway: ${target.reason}`);
    console.warn(`\ncastore-objectstore: S3 tests SKIPPED: ${target.reason}\n`);
  }
  project.provide("gateway", target);
  return () => stopGateway(target);
}
