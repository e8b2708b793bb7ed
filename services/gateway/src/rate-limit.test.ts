import { randomUUID } from 'node:crypto';
import type { StartedService } from '@armature/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from './testing/fake-upstream.ts';
import { call, deadUrl, startTestGateway } from './testing/gateway.ts';
import { createSigningKey, type SigningKey, signToken } from './testing/tokens.ts';

// With TEST_REDIS_URL the buckets live in that Redis (as in scale-out), else in the gateway's process.
const redisUrl = process.env.TEST_REDIS_URL;
const store = redisUrl ? 'Redis' : 'in-process';

let key: SigningKey;
let users: FakeUpstream;
let orders: FakeUpstream;
let gateway: StartedService;

beforeAll(async () => {
  key = await createSigningKey();
  users = await startFakeUpstream({ name: 'users', keys: [key.jwk] });
  orders = await startFakeUpstream({ name: 'orders' });
  gateway = await startTestGateway(
    { users: [users.url], orders: [orders.url] },
    {
      // One token per 2 minutes: nothing refills while a test runs, however slow the machine.
      RATE_LIMIT_MAX_REQUESTS: '5',
      RATE_LIMIT_WINDOW_MS: '600000',
      LOGIN_RATE_LIMIT_MAX_REQUESTS: '2',
      LOGIN_RATE_LIMIT_WINDOW_MS: '60000',
      ...(redisUrl ? { REDIS_URL: redisUrl, RATE_LIMIT_KEY_PREFIX: `test:${randomUUID()}:` } : {}),
    },
  );
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([users?.close(), orders?.close()]);
});

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe(`rate limits (${store} buckets)`, () => {
  it('take an operation’s contract cost: a checkout empties a bucket of five', async () => {
    const token = await signToken(key);
    const checkout = await call(gateway.url, '/v1/users/me/orders', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(checkout.status).toBe(200);
    expect(checkout.headers.get('x-ratelimit-remaining')).toBe('0');
    const next = await call(gateway.url, '/v1/users/me', bearer(token));
    expect(next.status).toBe(429);
    expect(next.body.error.code).toBe('RATE_LIMITED');
  });

  it('count down on every response, then answer 429 RATE_LIMITED with Retry-After, calling no service', async () => {
    const token = await signToken(key);
    const remaining: Array<string | null> = [];
    for (let i = 0; i < 5; i++) {
      const { status, headers } = await call(gateway.url, '/v1/users/me', bearer(token));
      expect(status).toBe(200);
      expect(headers.get('x-ratelimit-limit')).toBe('5');
      remaining.push(headers.get('x-ratelimit-remaining'));
      // When the bucket is full again: 120 s per token taken, in unix seconds.
      const reset = Number(headers.get('x-ratelimit-reset'));
      const now = Date.now() / 1000;
      expect(reset).toBeGreaterThanOrEqual(Math.floor(now + 120 * (i + 1) - 2));
      expect(reset).toBeLessThanOrEqual(Math.ceil(now + 120 * (i + 1)));
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0']);
    const before = users.received.length;
    const refused = await call(gateway.url, '/v1/users/me', bearer(token));
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('RATE_LIMITED');
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    // One token per 120 s.
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(100);
    expect(retryAfter).toBeLessThanOrEqual(120);
    expect(users.received.length).toBe(before);
  });

  it('give every user their own budget, apart from anonymous calls from the same address', async () => {
    const [first, second] = [await signToken(key), await signToken(key)];
    for (let i = 0; i < 5; i++) await call(gateway.url, '/v1/users/me', bearer(first));
    expect((await call(gateway.url, '/v1/users/me', bearer(first))).status).toBe(429);
    const other = await call(gateway.url, '/v1/users/me', bearer(second));
    expect(other.status).toBe(200);
    expect(other.headers.get('x-ratelimit-remaining')).toBe('4');
  });

  it('count anonymous callers by IP, invalid tokens included', async () => {
    // This suite's anonymous budget for 127.0.0.1 is spent here and by nothing else.
    const results = [];
    for (let i = 0; i < 4; i++) results.push((await call(gateway.url, '/v1/products')).status);
    results.push((await call(gateway.url, '/v1/orders', bearer('forged.token.value'))).status);
    results.push((await call(gateway.url, '/v1/products')).status);
    expect(results).toEqual([200, 200, 200, 200, 401, 429]);
  });

  it('do not count health probes', async () => {
    for (let i = 0; i < 8; i++) {
      const { status, headers } = await call(gateway.url, '/health/live');
      expect(status).toBe(200);
      expect(headers.get('x-ratelimit-limit')).toBeNull();
    }
  });
});

describe(`the login bucket (${store} buckets)`, () => {
  let login: StartedService;
  beforeAll(async () => {
    login = await startTestGateway(
      { users: [users.url], orders: [orders.url] },
      {
        RATE_LIMIT_MAX_REQUESTS: '100',
        LOGIN_RATE_LIMIT_MAX_REQUESTS: '2',
        ...(redisUrl ? { REDIS_URL: redisUrl, RATE_LIMIT_KEY_PREFIX: `test:${randomUUID()}:` } : {}),
      },
    );
  });
  afterAll(() => login?.close());

  const attempt = (email: string) =>
    call(login.url, '/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'wrong' }),
    });

  it('allows a few attempts per address and email, then 429 with the login limit in the headers', async () => {
    const first = await attempt('Victim@Example.com');
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
    expect((await attempt('victim@example.com ')).status).toBe(200);
    const refused = await attempt('victim@example.com');
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another account from the same address is its own bucket; other routes keep the general budget.
    expect((await attempt('someone-else@example.com')).status).toBe(200);
    const other = await call(login.url, '/v1/products');
    expect(other.status).toBe(200);
    expect(other.headers.get('x-ratelimit-limit')).toBe('100');
  });
});

describe('with Redis unreachable', () => {
  let open: StartedService;
  beforeAll(async () => {
    open = await startTestGateway(
      { users: [users.url], orders: [orders.url] },
      {
        REDIS_URL: (await deadUrl()).replace('http:', 'redis:'),
        RATE_LIMIT_MAX_REQUESTS: '2',
        LOGIN_RATE_LIMIT_MAX_REQUESTS: '1',
      },
    );
  });
  afterAll(() => open?.close());

  it('lets general traffic through unlimited and counts each such request', async () => {
    for (let i = 0; i < 6; i++) {
      const { status, headers } = await call(open.url, '/v1/products');
      expect(status).toBe(200);
      expect(headers.get('x-ratelimit-limit')).toBe('2');
    }
    const metric = await open.app.gatewayMetrics.rateLimitStoreErrors.get();
    const allowed = metric.values.find((value) => value.labels.bucket === 'general');
    expect(allowed?.value).toBeGreaterThanOrEqual(6);
  });

  it('still limits login attempts, in the gateway process', async () => {
    const attempt = () =>
      call(open.url, '/v1/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'victim@example.com', password: 'guess' }),
      });
    expect((await attempt()).status).toBe(200);
    expect((await attempt()).status).toBe(429);
  });

  it('reports Redis down in /health without failing it', async () => {
    const { status, body } = await call(open.url, '/health');
    expect(status).toBe(200);
    expect(body.status).toBe('degraded');
    expect(body.checks.redis.status).toBe('down');
  });
});

describe('client addresses', () => {
  const budgetOf = async (base: string, forwardedFor: string) => {
    const { headers } = await call(base, '/v1/products', { headers: { 'x-forwarded-for': forwardedFor } });
    return headers.get('x-ratelimit-remaining');
  };

  it('ignore X-Forwarded-For unless the proxy is trusted, so a caller cannot pick a fresh budget', async () => {
    const direct = await startTestGateway(
      { users: [users.url], orders: [orders.url] },
      { RATE_LIMIT_MAX_REQUESTS: '10' },
    );
    try {
      expect(await budgetOf(direct.url, '203.0.113.1')).toBe('9');
      expect(await budgetOf(direct.url, '203.0.113.2')).toBe('8');
    } finally {
      await direct.close();
    }
  });

  it('count each client behind a trusted proxy by its own address', async () => {
    const behind = await startTestGateway(
      { users: [users.url], orders: [orders.url] },
      { RATE_LIMIT_MAX_REQUESTS: '10', TRUST_PROXY: 'loopback' },
    );
    try {
      expect(await budgetOf(behind.url, '203.0.113.1')).toBe('9');
      expect(await budgetOf(behind.url, '203.0.113.2')).toBe('9');
      expect(await budgetOf(behind.url, '203.0.113.1')).toBe('8');
    } finally {
      await behind.close();
    }
  });
});

describe('RATE_LIMIT_REDIS_URL', () => {
  it('puts the rate limits in their own Redis, apart from REDIS_URL (here one that does not answer)', async () => {
    const own = await startTestGateway(
      { users: [users.url], orders: [orders.url] },
      { RATE_LIMIT_REDIS_URL: (await deadUrl()).replace('http:', 'redis:'), RATE_LIMIT_MAX_REQUESTS: '2' },
    );
    try {
      // In-process buckets would refuse the third request; the unreachable Redis lets them through.
      for (let i = 0; i < 4; i++) expect((await call(own.url, '/v1/products')).status).toBe(200);
      const metric = await own.app.gatewayMetrics.rateLimitStoreErrors.get();
      expect(metric.values.find((value) => value.labels.bucket === 'general')?.value).toBeGreaterThanOrEqual(
        4,
      );
    } finally {
      await own.close();
    }
  });
});
