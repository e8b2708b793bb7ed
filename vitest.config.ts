import { defineConfig } from 'vitest/config';

/**
 * `npm test`: every suite — units, the whole system through the gateway, abuse, faults, the browser.
 * With TEST_POSTGRES_URL, TEST_REDIS_URL and TEST_NATS_URL set (CI's scale-out pass) the same suites
 * run on the real PostgreSQL, Redis and NATS; suites that only make sense there say so and are
 * listed as skipped in the embedded pass. `vitest.unit.config.ts` is the fast lane.
 */
export default defineConfig({
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'services/*/src/**/*.test.ts',
      'test/**/*.test.ts',
      'bench/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['packages/testing/src/global-setup.ts', 'packages/testing/src/browser-setup.ts'],
    reporters: ['default', './packages/testing/src/skipped-reporter.ts'],
  },
});
