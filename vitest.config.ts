import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**"],
    // Integration tests train tiny models and talk to real services: generous, but bounded.
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: "forks",
    reporters: ["default", "./test/summary-reporter.ts"],
  },
});
