import { defineConfig } from "vitest/config";

export default defineConfig({
  test: { include: ["scripts/readme-examples.test.ts"], root: "." },
});
