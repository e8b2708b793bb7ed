import { randomUUID } from 'node:crypto';
import { type EmbeddedSystem, startEmbedded } from '../../packages/cli/src/embedded.ts';
import { freshStore, natsUrl, redisUrl } from './databases.ts';

export interface TestSystem extends EmbeddedSystem {
  /** The gateway's base URL: the only address a client uses. */
  url: string;
}

/**
 * The whole system, started the way `npm start` starts it, on free ports with fresh databases.
 * In CI's scale-out pass (`TEST_POSTGRES_URL`, `TEST_REDIS_URL`, `TEST_NATS_URL`) it runs on the
 * real PostgreSQL, Redis and NATS instead of the embedded adapters.
 */
export async function startSystem(env: Record<string, string> = {}): Promise<TestSystem> {
  const [users, orders] = await Promise.all([freshStore('users'), freshStore('orders')]);
  const system = await startEmbedded({
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATA_DIR: users.dataDir,
    ...(users.url ? { USERS_DATABASE_URL: users.url } : {}),
    ...(orders.url ? { ORDERS_DATABASE_URL: orders.url } : {}),
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    ...(natsUrl ? { NATS_URL: natsUrl } : {}),
    // Suites share one client address and, in scale-out runs, one Redis: give each system its own
    // rate-limit budget, large enough that only suites about rate limits (passing their own) meet it.
    RATE_LIMIT_KEY_PREFIX: `armature:test:${randomUUID()}:`,
    RATE_LIMIT_MAX_REQUESTS: '100000',
    LOGIN_RATE_LIMIT_MAX_REQUESTS: '100000',
    ...env,
  });
  return {
    ...system,
    url: system.gateway.url,
    async close() {
      await system.close();
      await Promise.all([users.drop(), orders.drop()]);
    },
  };
}
