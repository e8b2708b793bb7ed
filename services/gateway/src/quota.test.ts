import { randomUUID } from 'node:crypto';
import type { StartedService } from '@armature/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from './app.ts';
import { readGatewayConfig } from './config.ts';
import { type FakeUpstream, startFakeUpstream } from './testing/fake-upstream.ts';
import { call, upstreamVariables } from './testing/gateway.ts';
import { createSigningKey, type SigningKey, signToken } from './testing/tokens.ts';

// With TEST_REDIS_URL two gateways share the counts in Redis (as scaled out); else one gateway counts in process.
const redisUrl = process.env.TEST_REDIS_URL;
const store = redisUrl ? 'two gateways on Redis' : 'in-process';

let key: SigningKey;
let users: FakeUpstream;
let orders: FakeUpstream;
const gateways: StartedService[] = [];
/** The gateways' clock: 10:00 UTC on 5 December 2026, moved by the tests. */
let clock = Date.UTC(2026, 11, 5, 10, 0, 0);

beforeAll(async () => {
  key = await createSigningKey();
  users = await startFakeUpstream({ name: 'users', keys: [key.jwk] });
  orders = await startFakeUpstream({ name: 'orders' });
  const env = {
    ...upstreamVariables({ users: [users.url], orders: [orders.url] }),
    RATE_LIMIT_MAX_REQUESTS: '1000',
    PLANS: JSON.stringify({ default: { quota: { limit: 10, period: 'day' } } }),
    ...(redisUrl ? { REDIS_URL: redisUrl, RATE_LIMIT_KEY_PREFIX: `test:${randomUUID()}:` } : {}),
  };
  const count = redisUrl ? 2 : 1;
  for (let i = 0; i < count; i++) {
    gateways.push(await startGateway({ ...readGatewayConfig(env), now: () => clock }));
  }
});

afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.close()));
  await Promise.all([users?.close(), orders?.close()]);
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe(`quotas (${store})`, () => {
  it('admit exactly the plan’s quota across gateways, then answer 429 QUOTA_EXCEEDED until the period ends', async () => {
    const token = await signToken(key);
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) {
      const gateway = gateways[i % gateways.length]!;
      const { status, headers } = await call(gateway.url, '/v1/users/me', { headers: bearer(token) });
      statuses.push(status);
      if (status === 200) expect(headers.get('x-ratelimit-remaining')).toBe(String(9 - i));
    }
    expect(statuses.filter((status) => status === 200)).toHaveLength(10);
    expect(statuses.slice(10)).toEqual([429, 429, 429, 429]);

    const refused = await call(gateways[0]!.url, '/v1/users/me', { headers: bearer(token) });
    expect(refused.body.error.code).toBe('QUOTA_EXCEEDED');
    // Fourteen hours to midnight UTC.
    expect(Number(refused.headers.get('retry-after'))).toBe(14 * 3600);
    expect(Number(refused.headers.get('x-ratelimit-reset'))).toBe(Date.UTC(2026, 11, 6) / 1000);
    expect(refused.headers.get('x-ratelimit-limit')).toBe('10');
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');

    // The next day the quota is whole again.
    clock = Date.UTC(2026, 11, 6, 0, 0, 1);
    const next = await call(gateways.at(-1)!.url, '/v1/users/me', { headers: bearer(token) });
    expect(next.status).toBe(200);
    expect(next.headers.get('x-ratelimit-remaining')).toBe('9');
  });

  it('count each operation at the contract’s cost: a checkout counts five', async () => {
    const token = await signToken(key);
    const checkout = () =>
      call(gateways[0]!.url, '/v1/users/me/orders', {
        method: 'POST',
        headers: { ...bearer(token), 'content-type': 'application/json' },
        body: '{}',
      });
    expect((await checkout()).headers.get('x-ratelimit-remaining')).toBe('5');
    expect((await checkout()).headers.get('x-ratelimit-remaining')).toBe('0');
    const third = await checkout();
    expect(third.status).toBe(429);
    expect(third.body.error.code).toBe('QUOTA_EXCEEDED');
  });

  it('leave anonymous callers to the per-address rate limit', async () => {
    for (let i = 0; i < 12; i++) {
      const { status } = await call(gateways[0]!.url, '/v1/products');
      expect(status).toBe(200);
    }
  });
});
