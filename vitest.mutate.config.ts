import { defineConfig } from 'vitest/config';

// The Node tests of src/ alone, for mutation testing (stryker.config.mjs): every mutant of
// src/ is run against the tests that cover it, in plain Node.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
  },
});
