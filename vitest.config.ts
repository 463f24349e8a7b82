import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**"],
    // Integration tests train tiny models and talk to real services: generous, but bounded.
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: "forks",
    // Tests spawn `facet` (bin/facet.mjs runs dist/bundle/): compile and bundle it first.
    globalSetup: ["./test/build-dist.ts"],
    reporters: ["default", "./test/summary-reporter.ts"],
  },
});
