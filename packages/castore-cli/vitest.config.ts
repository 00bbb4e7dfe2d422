import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The end-to-end tests run dist/bin.js as real processes: rebuilt first only if src/ is newer.
    globalSetup: ["test/helpers/build-dist.ts"],
    // The other castore packages are loaded by Node as built, as users get them (Node's own
    // resolution picks castore-core's native BLAKE3 binding by the "node" import condition).
    server: { deps: { external: [/\/castore-[a-z]+\/dist\//] } },
    // Each test starts several Node processes (a daemon, clients): about a second each when the
    // machine is quiet, many times that when its cores are busy. The tests wait on events (a
    // startup line, a log line, an exit), so a generous limit only bounds a real hang.
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
