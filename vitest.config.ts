import { defineConfig } from 'vitest/config';

// `*.scale-out.test.ts` suites need several processes on one shared PostgreSQL; they run in the
// scale-out pass (TEST_POSTGRES_URL set), where every other suite runs too.
const scaleOut = Boolean(process.env.TEST_POSTGRES_URL);

export default defineConfig({
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'services/*/src/**/*.test.ts',
      'test/**/*.test.ts',
      'bench/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', ...(scaleOut ? [] : ['**/*.scale-out.test.ts'])],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default'],
  },
});
