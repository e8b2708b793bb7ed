import { randomUUID } from 'node:crypto';
import { mode } from '@armature/testing/databases';
import { startSystem, type TestSystem } from '@armature/testing/system';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The console's traffic snapshot through the gateway: the services' own counters (read from their
 * `/metrics` when asked), the gateway's rate-limit refusals, the caches' hits, and each instance's
 * circuit breaker and outbox backlog. Admins only.
 */
const admin = { email: `traffic-admin-${randomUUID()}@example.com`, password: 'traffic admin password' };

let system: TestSystem;
let adminToken: string;
let memberToken: string;
let memberId: string;

beforeAll(async () => {
  system = await startSystem({
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    LOGIN_RATE_LIMIT_MAX_REQUESTS: '5',
  });
  adminToken = (await system.call('POST', '/v1/auth/login', { body: admin })).body.accessToken;
  const email = `traffic-member-${randomUUID()}@example.com`;
  const password = 'member password 1';
  memberId = (await system.call('POST', '/v1/users', { body: { email, name: 'Busy Member', password } })).body
    .id;
  memberToken = (await system.call('POST', '/v1/auth/login', { body: { email, password } })).body.accessToken;
});
afterAll(async () => {
  await system?.close();
});

type Snapshot = {
  routes: {
    service: string;
    method: string;
    route: string;
    requests: number;
    errors: number;
    buckets: number[];
  }[];
  bucketBounds: number[];
  rateLimitRefusals: Record<string, number>;
  cache: { hits: number; misses: number };
  instances: {
    service: string;
    instance: string;
    up: boolean;
    breaker: string;
    outboxBacklog: number | null;
    dependencies: { name: string; status: string; latency: number }[];
  }[];
};
const snapshot = async (): Promise<Snapshot> => {
  const reply = await system.call('GET', '/v1/traffic', { token: adminToken });
  expect(reply.status).toBe(200);
  return reply.body;
};
const requestsTo = (traffic: Snapshot, service: string, route: string) =>
  traffic.routes.find((item) => item.service === service && item.method === 'GET' && item.route === route)
    ?.requests ?? 0;

describe(`traffic (${mode})`, () => {
  it("counts each route's requests from the service's own metrics, with latency buckets", async () => {
    const before = await snapshot();
    for (let i = 0; i < 3; i++) {
      expect((await system.call('GET', `/v1/users/${memberId}`, { token: memberToken })).status).toBe(200);
    }
    const after = await snapshot();
    expect(requestsTo(after, 'users', '/v1/users/:id') - requestsTo(before, 'users', '/v1/users/:id')).toBe(
      3,
    );
    const route = after.routes.find((item) => item.service === 'users' && item.route === '/v1/users/:id')!;
    expect(route.buckets).toHaveLength(after.bucketBounds.length);
    expect(route.buckets.at(-1)).toBeLessThanOrEqual(route.requests);
    // Reads of one user are cached: the second and third were hits.
    expect(after.cache.hits - before.cache.hits).toBeGreaterThanOrEqual(2);
    // Probes are not traffic.
    expect(after.routes.some((item) => item.route.startsWith('/health'))).toBe(false);
  });

  it("counts the gateway's rate-limit refusals and shows each instance's breaker and outbox backlog", async () => {
    let refused = 0;
    for (let i = 0; i < 8 && refused === 0; i++) {
      const login = await system.call('POST', '/v1/auth/login', {
        body: { email: 'nobody@example.com', password: 'wrong password' },
      });
      if (login.status === 429) refused++;
    }
    expect(refused).toBe(1);
    const traffic = await snapshot();
    expect(traffic.rateLimitRefusals.login).toBeGreaterThanOrEqual(1);
    for (const service of ['users', 'orders', 'payments']) {
      const instance = traffic.instances.find((item) => item.instance === `${service}-1`);
      expect(instance).toMatchObject({ service, up: true, breaker: 'closed' });
      expect(instance?.outboxBacklog).toBeGreaterThanOrEqual(0);
      // Its own dependencies, from its health report: at least its database, up.
      expect(instance?.dependencies).toContainEqual(
        expect.objectContaining({ name: 'database', status: 'up' }),
      );
    }
  });

  it('is for admins only: 401 without a token, 403 for a member, 400 for an unknown parameter', async () => {
    expect((await system.call('GET', '/v1/traffic')).status).toBe(401);
    expect((await system.call('GET', '/v1/traffic', { token: memberToken })).status).toBe(403);
    expect((await system.call('GET', '/v1/traffic?window=5m', { token: adminToken })).status).toBe(400);
  });
});
