import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The crash and two-process tests spawn Node on the built dist; give them room on 2 cores.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
