import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // Tests run the sources; point the hashing seam at its Node implementation in src.
    alias: { "#hasher": fileURLToPath(new URL("./src/hashing/hasher-node.ts", import.meta.url)) },
  },
  test: {
    include: ["test/**/*.test.ts"],
    // In-process tests of a few milliseconds each (property tests a second or two); the limit only
    // bounds a hang on a busy machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
