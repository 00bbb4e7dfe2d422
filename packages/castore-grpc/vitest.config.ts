import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Real servers, sockets and megabytes of data on a machine that may be busy: each test takes
    // well under a second quietly, and waits on events rather than time, so the limits are far off.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
