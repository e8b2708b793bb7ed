import { globSync, readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import full from './vitest.config.ts';

/**
 * `npm run test:unit`, the fast lane for daily work: every suite that needs no browser, no second
 * process and no database or other service. A suite joins it by itself: any test file that uses none
 * of the things below is in. `npm test` stays the whole thing.
 */
const needsMore = [
  /\b(freshStore|openDatabase|eventsDatabase|PGlite)\b/, // a database, even in-process
  /\bstart(System|TestUsers|TestOrders|OnStore|OwnRedis|Embedded)\b|\bOwnNatsServer\b/, // the system, a service or a server
  /\b(spawn|spawnOwned|execFile|fork)\(/, // a second process
  /\bnew Redis\(/, // a Redis server
  /\b(browserSuite|launchBrowser|chromium)\b/, // a browser
];

/** Black-box suites run the whole system, whatever they import. */
const wholeSystem = /^test\/(e2e|abuse|faults)\//;

const include = (full.test?.include ?? []).flatMap((pattern) =>
  globSync(pattern, { exclude: (name) => name === 'node_modules' }),
);

export default defineConfig({
  test: {
    ...full.test,
    include: include.filter((file) => {
      if (wholeSystem.test(file)) return false;
      const source = readFileSync(file, 'utf8');
      return !needsMore.some((pattern) => pattern.test(source));
    }),
    // No browser setup, and the embedded adapters only, whatever the shell exports.
    globalSetup: ['packages/testing/src/global-setup.ts'],
    env: { TEST_POSTGRES_URL: '', TEST_REDIS_URL: '', TEST_NATS_URL: '' },
  },
});
