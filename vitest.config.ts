import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // The default summary counts skipped tests; the second reporter names each one.
    reporters: ["default", "./test/reporters/skip-summary.ts"],
  },
});
