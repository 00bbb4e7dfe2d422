import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One real S3 server (Ceph RGW) for the whole run; see test/support/global-setup.ts.
    globalSetup: ["test/support/global-setup.ts"],
    // The gateway answers small GETs in ~50 ms and shares 2 cores with everything else.
    testTimeout: 120_000,
    hookTimeout: 240_000,
  },
});
