import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedSystem, startEmbedded } from '../../packages/cli/src/embedded.ts';
import {
  cleanup,
  getJson,
  type OwnPostgres,
  onCleanup,
  startOwnPostgres,
  tempDir,
  waitFor,
} from './support.ts';

/**
 * PostgreSQL restarted under load, on a throwaway cluster of our own (never the machine's): the
 * services notice (`/health` says unhealthy, requests fail fast with a 503 rather than hang or
 * crash), and when the database is back they reconnect by themselves — no restart, no operator.
 */

const admin = { email: 'pg-admin@example.com', password: 'pg admin password' };
let postgres: OwnPostgres;
let system: EmbeddedSystem;
let token: string;
let product: string;

afterAll(async () => {
  await system?.close().catch(() => undefined);
  await cleanup();
});

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${system.gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(15_000),
  });
  // biome-ignore lint/suspicious/noExplicitAny: JSON of whatever shape the API answered.
  return { status: response.status, body: (await response.json().catch(() => undefined)) as any };
}

beforeAll(async () => {
  postgres = await startOwnPostgres();
  await postgres.createDatabase('armature_users');
  await postgres.createDatabase('armature_orders');
  system = await startEmbedded({
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    DATA_DIR: await tempDir('pg-data'),
    USERS_DATABASE_URL: postgres.url('armature_users'),
    ORDERS_DATABASE_URL: postgres.url('armature_orders'),
    REDIS_URL: undefined,
    NATS_URL: undefined,
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    RATE_LIMIT_MAX_REQUESTS: '1000000',
    LOGIN_RATE_LIMIT_MAX_REQUESTS: '1000000',
  });
  onCleanup(() => system.close());
  const login = await fetch(`${system.gateway.url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(admin),
  });
  token = ((await login.json()) as { accessToken: string }).accessToken;
  product = (await call('POST', '/v1/products', { name: 'Durable', price: 5, stock: 1_000_000 })).body.id;
}, 180_000);

describe('PostgreSQL restarted under load', () => {
  it('shows the outage and the recovery on /health, and the services reconnect by themselves', {
    timeout: 240_000,
  }, async () => {
    const health = async (url: string) => (await getJson(`${url}/health`)) ?? { status: 0, body: undefined };
    for (const service of [system.services.users, system.services.orders, system.gateway]) {
      expect((await health(service.url)).body?.status).toBe('healthy');
    }

    // Steady mixed traffic for the whole test: reads and writes on both services.
    const statuses: { phase: string; status: number }[] = [];
    let phase = 'before';
    let stopped = false;
    const worker = async () => {
      for (let i = 0; i < 100_000 && !stopped; i++) {
        const step = i % 3;
        const answer =
          step === 0
            ? await call('GET', `/v1/products/${product}`).catch(() => ({ status: 0 }))
            : step === 1
              ? await call('PUT', `/v1/users/me/cart/items/${product}`, { quantity: 1 + (i % 5) }).catch(
                  () => ({ status: 0 }),
                )
              : await call('GET', '/v1/users/me').catch(() => ({ status: 0 }));
        statuses.push({ phase, status: answer.status });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const workers = [worker(), worker(), worker()];
    try {
      await waitFor('traffic before the outage', () => statuses.length >= 30, { timeoutMs: 60_000 });

      phase = 'stopping';
      await postgres.stop('fast');
      phase = 'outage';
      for (const service of [system.services.users, system.services.orders]) {
        const report = await waitFor(`${service.url} to report the database down`, async () => {
          const answer = await health(service.url);
          return answer.status === 503 && answer.body?.checks?.database?.status === 'down'
            ? answer
            : undefined;
        });
        expect(report.body.status).toBe('unhealthy');
      }
      const gatewayDuring = await waitFor('the gateway to see its upstreams down', async () => {
        const answer = await health(system.gateway.url);
        return answer.status === 503 ? answer : undefined;
      });
      expect(gatewayDuring.body.status).toBe('unhealthy');
      await waitFor(
        'failed requests during the outage',
        () => statuses.filter((entry) => entry.phase === 'outage').length >= 15,
      );

      phase = 'recovering';
      await postgres.start();
      for (const service of [system.services.users, system.services.orders, system.gateway]) {
        await waitFor(
          `${service.url} to report healthy again`,
          async () => (await health(service.url)).body?.status === 'healthy',
          { timeoutMs: 60_000 },
        );
      }
      phase = 'after';
      const afterStart = statuses.length;
      await waitFor('traffic after the recovery', () => statuses.length >= afterStart + 30, {
        timeoutMs: 60_000,
      });
    } finally {
      stopped = true;
      await Promise.all(workers);
    }

    const of = (name: string) =>
      statuses.filter((entry) => entry.phase === name).map((entry) => entry.status);
    // Before and after: everything answered 2xx. During: refusals, never a hang (status 0) or a 500.
    expect(of('before').every((status) => status >= 200 && status < 300)).toBe(true);
    expect(
      of('after').every((status) => status >= 200 && status < 300),
      `after: ${of('after')}`,
    ).toBe(true);
    const during = of('outage');
    expect(
      during.some((status) => status >= 500),
      `during: ${during}`,
    ).toBe(true);
    expect(
      during.filter((status) => status === 0 || status === 500),
      `during: ${during}`,
    ).toEqual([]);
    // The write made while PostgreSQL was back went through, and earlier data is intact.
    const cart = await call('GET', '/v1/users/me/cart');
    expect(cart.status).toBe(200);
    expect(cart.body.items[0].productId).toBe(product);
  });
});
