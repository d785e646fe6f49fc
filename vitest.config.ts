import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

/** Test-only secrets: a fixed log key seed (base64 of 32 bytes) and an admin token. */
export const TEST_LOG_PRIVATE_KEY = 'c3RlbGUgdGVzdCBsb2cga2V5IC0tIG5vdCBzZWNyZXQ=';
export const TEST_ADMIN_TOKEN = 'test-admin-token-not-a-secret';
/** Test-only master key (base64 of 32 bytes; docs/security.md). */
export const TEST_MASTER_KEY = 'c3RlbGUgdGVzdCBtYXN0ZXIga2V5IC0tIG5vdCBzZWM=';

// The workers project reads wrangler.toml through wrangler, which announces each time that it
// found the .dev.vars `npm start` wrote (its secrets are overridden below): a passing run is
// quiet, so wrangler says only warnings and errors in this process. The tests that run
// wrangler themselves (deploy, start, readme, packages) read what it prints at its usual
// level: they get the level the user had, or wrangler's default.
const userWranglerLog = process.env.WRANGLER_LOG;
process.env.WRANGLER_LOG ??= 'warn';
const wranglerAsUsual = { WRANGLER_LOG: userWranglerLog ?? 'log' };

// Two projects: src/ runs in plain Node (it is runtime-free), the Workers run inside
// workerd against real Durable Objects, D1 and R2 (storage isolated per test file).
export default defineConfig({
  test: {
    // A passing test's console output (the ledger logging the failures a test provokes on
    // purpose) is not shown; a failing test's is.
    silent: 'passed-only',
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          env: wranglerAsUsual,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The console in Debian's chromium (playwright-core), against a real ledger and
        // witnesses on loopback; test/browser/global-setup.ts installs chromium if missing.
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          environment: 'node',
          env: wranglerAsUsual,
          globalSetup: ['test/browser/global-setup.ts'],
          // One browser and one ledger at a time: on two cores, two at once would race the
          // tail's 2 s limit against each other.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                LOG_PRIVATE_KEY: TEST_LOG_PRIVATE_KEY,
                ADMIN_TOKEN: TEST_ADMIN_TOKEN,
                MASTER_KEY: TEST_MASTER_KEY,
                CHECKPOINT_INTERVAL_MS: '100',
                // Every alarm mirrors, as the tests expect; test/integration/mirror-interval.test.ts times the interval.
                MIRROR_INTERVAL_MS: '0',
                MAX_MIRROR_LAG: '1500',
                // The signing key of the tests' destinations (test/workers/routes.test.ts).
                DEST_TEST_KEY: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
                TEST_MIGRATIONS: await readD1Migrations('./migrations'),
              },
            },
          })),
        ],
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts'],
          setupFiles: ['test/workers/setup.ts'],
          testTimeout: 30_000,
        },
      },
    ],
  },
});
