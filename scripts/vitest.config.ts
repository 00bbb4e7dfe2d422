import { defineConfig } from "vitest/config";

// The workspace-level tests: README examples, the packed packages (publint, attw) and consumer
// projects compiling against the tarballs. They run on the built packages after every package's
// own tests (scripts/test.mjs).
export default defineConfig({
  test: {
    include: ["scripts/**/*.test.ts"],
    root: ".",
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    globalSetup: ["scripts/support/pack-all.ts"],
    // Each case spawns Node or tsc on a busy machine: far from the case's own work (a few seconds).
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
