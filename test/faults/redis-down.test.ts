import { startSystem, type TestSystem } from '@armature/testing/system';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, getJson, type OwnServer, startOwnRedis, waitFor } from './support.ts';

/**
 * Redis (our own server, never the machine's) killed under load: the API degrades, it does not fail.
 * Rate limits fail open, cached reads go to the database, writes succeed; `/health` says degraded
 * (200) with the Redis-backed checks down; when Redis is back, everything is healthy again.
 */

const admin = { email: 'redis-admin@example.com', password: 'redis admin password' };
let redis: OwnServer;
let system: TestSystem;
let token: string;
let product: string;

afterAll(async () => {
  await system?.close().catch(() => undefined);
  await cleanup();
});

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${system.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(15_000),
  });
  // biome-ignore lint/suspicious/noExplicitAny: JSON of whatever shape the API answered.
  return { status: response.status, body: (await response.json().catch(() => undefined)) as any };
}

beforeAll(async () => {
  redis = await startOwnRedis();
  system = await startSystem({
    REDIS_URL: redis.url,
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
  });
  const login = await fetch(`${system.url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(admin),
  });
  token = ((await login.json()) as { accessToken: string }).accessToken;
  product = (await call('POST', '/v1/products', { name: 'Cached', price: 5, stock: 1_000_000 })).body.id;
}, 180_000);

/** The checks of a /health report that are down. */
const downChecks = (report: { checks?: Record<string, { status: string }> } | undefined) =>
  Object.entries(report?.checks ?? {})
    .filter(([, check]) => check.status === 'down')
    .map(([name]) => name);

describe('Redis down', () => {
  it('degrades without failing a request, and recovers when Redis returns', {
    timeout: 240_000,
  }, async () => {
    const services = {
      gateway: system.url,
      users: system.services.users.url,
      orders: system.services.orders.url,
    };
    // Which checks of each process depend on Redis (the gateway's rate limits, a service's cache).
    const redisChecks: Record<string, string[]> = {};
    for (const [name, url] of Object.entries(services)) {
      const report = await getJson(`${url}/health`);
      expect(report?.body.status).toBe('healthy');
      redisChecks[name] = Object.keys(report?.body.checks ?? {}).filter((check) => /redis|cache/.test(check));
    }
    expect(redisChecks.gateway).toContain('redis');

    const statuses: { phase: string; status: number; path: string }[] = [];
    let phase = 'before';
    let stopped = false;
    const worker = async (offset: number) => {
      for (let i = offset; i < 100_000 && !stopped; i++) {
        const requests: [string, string, unknown?][] = [
          ['GET', `/v1/products/${product}`],
          ['GET', '/v1/users/me'],
          ['PUT', `/v1/users/me/cart/items/${product}`, { quantity: 1 + (i % 5) }],
          ['PATCH', '/v1/users/me', { name: `Admin ${i}` }],
          ['GET', '/v1/users/me/orders'],
        ];
        const [method, path, body] = requests[i % requests.length];
        const answer = await call(method, path, body).catch(() => ({ status: 0 }));
        statuses.push({ phase, status: answer.status, path: `${method} ${path}` });
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const workers = [worker(0), worker(2)];
    try {
      await waitFor('traffic before the outage', () => statuses.length >= 20, { timeoutMs: 60_000 });
      await redis.stop('SIGKILL');
      phase = 'outage';
      const degraded = await waitFor('the gateway to report Redis down', async () => {
        const answer = await getJson(`${services.gateway}/health`);
        return answer?.body?.checks?.redis?.status === 'down' ? answer : undefined;
      });
      expect(degraded.status).toBe(200);
      expect(degraded.body.status).toBe('degraded');
      for (const [name, url] of Object.entries(services)) {
        if (redisChecks[name].length === 0) {
          expect((await getJson(`${url}/health`))?.body.status, name).toBe('healthy');
          continue;
        }
        const answer = await waitFor(`${name} to report ${redisChecks[name]} down`, async () => {
          const report = await getJson(`${url}/health`);
          return redisChecks[name].every((check) => downChecks(report?.body).includes(check))
            ? report
            : undefined;
        });
        expect({ name, status: answer.status, state: answer.body.status }).toEqual({
          name,
          status: 200,
          state: 'degraded',
        });
      }
      await waitFor(
        'traffic during the outage',
        () => statuses.filter((s) => s.phase === 'outage').length >= 40,
        {
          timeoutMs: 60_000,
        },
      );

      phase = 'recovering';
      await redis.start();
      for (const [name, url] of Object.entries(services)) {
        await waitFor(
          `${name} to report healthy again`,
          async () => (await getJson(`${url}/health`))?.body.status === 'healthy',
          {
            timeoutMs: 60_000,
          },
        );
      }
      phase = 'after';
      const mark = statuses.length;
      await waitFor('traffic after the recovery', () => statuses.length >= mark + 20, { timeoutMs: 60_000 });
    } finally {
      stopped = true;
      await Promise.all(workers);
    }
    const failures = statuses.filter((entry) => entry.status < 200 || entry.status >= 300);
    expect(failures, JSON.stringify(failures.slice(0, 10))).toEqual([]);
    // The last write is what reads see: no stale cache entry survived the outage.
    const me = await call('GET', '/v1/users/me');
    const written = await call('PATCH', '/v1/users/me', { name: 'After the outage' });
    expect(written.status).toBe(200);
    expect((await call('GET', '/v1/users/me')).body.name).toBe('After the outage');
    expect(me.status).toBe(200);
  });
});
