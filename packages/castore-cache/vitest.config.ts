import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // In-process tests of a few milliseconds each; the limit only bounds a hang on a busy machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
