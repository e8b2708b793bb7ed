import type { Principal, StartedService, TokenVerifier } from '@armature/platform';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { VerifiedTokenCache } from './edge-auth.ts';
import { type FakeUpstream, startFakeUpstream } from './testing/fake-upstream.ts';
import { call, deadUrl, startTestGateway } from './testing/gateway.ts';
import { createSigningKey, type SigningKey, signToken } from './testing/tokens.ts';

let key: SigningKey;
let users: FakeUpstream;
let orders: FakeUpstream;
let gateway: StartedService;

beforeAll(async () => {
  key = await createSigningKey();
  users = await startFakeUpstream({ name: 'users', keys: [key.jwk] });
  orders = await startFakeUpstream({ name: 'orders' });
  // The first users instance is down: keys come from the second.
  gateway = await startTestGateway(
    { users: [await deadUrl(), users.url], orders: [orders.url] },
    { RATE_LIMIT_MAX_REQUESTS: '10000' },
  );
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([users?.close(), orders?.close()]);
});

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const received = () => users.received.length + orders.received.length;

describe('auth at the edge', () => {
  it('answers a private route without a token with 401 and WWW-Authenticate, and calls no service', async () => {
    const before = received();
    for (const [method, path] of [
      ['GET', '/v1/users/me'],
      ['GET', '/v1/orders'],
      ['POST', '/v1/users/usr_1/orders'],
      ['POST', '/v1/products'],
      ['GET', '/users/me?version=2'],
    ]) {
      const { status, body, headers } = await call(gateway.url, path, {
        method,
        headers: { 'content-type': 'application/json' },
        body: method === 'POST' ? '{}' : undefined,
      });
      expect(status, `${method} ${path}`).toBe(401);
      expect(body.error.code).toBe('UNAUTHORIZED');
      expect(headers.get('www-authenticate')).toBe('Bearer');
    }
    expect(received()).toBe(before);
  });

  it('refuses malformed, forged, expired and misaddressed tokens with 401 INVALID_TOKEN', async () => {
    const stranger = await createSigningKey();
    const tokens = {
      malformed: 'Basic dXNlcjpwYXNz',
      'not a JWT': 'Bearer not-a-jwt',
      'unknown key': `Bearer ${await signToken(stranger)}`,
      expired: `Bearer ${await signToken(key, { expiresIn: -60 })}`,
      'wrong audience': `Bearer ${await signToken(key, { audience: 'someone-else' })}`,
      'wrong issuer': `Bearer ${await signToken(key, { issuer: 'someone-else' })}`,
    };
    const before = received();
    for (const [label, authorization] of Object.entries(tokens)) {
      const { status, body, headers } = await call(gateway.url, '/v1/users/me', {
        headers: { authorization },
      });
      expect(status, label).toBe(401);
      expect(body.error.code, label).toBe('INVALID_TOKEN');
      expect(headers.get('www-authenticate'), label).toBe('Bearer error="invalid_token"');
    }
    expect(received()).toBe(before);
  });

  it('forwards a request with a valid token, original Authorization header included', async () => {
    const token = await signToken(key);
    const { status, body } = await call(gateway.url, '/v1/users/me', bearer(token));
    expect(status).toBe(200);
    expect(body.instance).toBe('users');
    expect(body.headers.authorization).toBe(`Bearer ${token}`);
  });

  it('lets the public routes through without a token', async () => {
    const json = { 'content-type': 'application/json' };
    const cases: Array<[string, string, string]> = [
      ['POST', '/v1/users', 'users'],
      ['POST', '/v1/auth/login', 'users'],
      ['POST', '/v2/auth/refresh', 'users'],
      ['GET', '/v1/products', 'orders'],
      ['GET', '/v2/products/prd_123', 'orders'],
      ['GET', '/products?version=2', 'orders'],
    ];
    for (const [method, path, owner] of cases) {
      const { status, body } = await call(gateway.url, path, {
        method,
        headers: json,
        body: method === 'POST' ? '{"email":"a@example.com"}' : undefined,
      });
      expect(status, `${method} ${path}`).toBe(200);
      expect(body.instance).toBe(owner);
    }
    const jwks = await call(gateway.url, '/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys[0].kid).toBe(key.kid);
    expect((await call(gateway.url, '/health')).body.checks).toBeDefined();
  });

  it('treats an invalid token on a public route as no token', async () => {
    const { status } = await call(gateway.url, '/v1/products', bearer('garbage.token.here'));
    expect(status).toBe(200);
  });

  it('fetches the keys again for an unknown kid, at most once per cooldown', async () => {
    const rotated = await createSigningKey();
    users.keys.push(rotated.jwk);
    const before = users.jwksFetches;
    // Within the cooldown after the first fetch, tokens under a key not yet seen are refused, and
    // however many arrive, the keys are fetched at most once more.
    for (let i = 0; i < 10; i++) {
      const stranger = await createSigningKey();
      await call(gateway.url, '/v1/users/me', bearer(await signToken(stranger)));
    }
    expect(users.jwksFetches - before).toBeLessThanOrEqual(1);
  });
});

describe('key rotation', () => {
  let quick: StartedService;
  beforeAll(async () => {
    quick = await startTestGateway(
      { users: [users.url], orders: [orders.url] },
      { JWKS_COOLDOWN_MS: '100', RATE_LIMIT_MAX_REQUESTS: '10000' },
    );
  });
  afterAll(() => quick?.close());

  it('accepts tokens signed with a key published after the gateway first fetched the keys', async () => {
    expect((await call(quick.url, '/v1/users/me', bearer(await signToken(key)))).status).toBe(200);
    const next = await createSigningKey();
    users.keys.push(next.jwk);
    // Once the unknown-kid cooldown (100 ms here) has passed, the gateway fetches the keys again.
    const token = await signToken(next);
    await vi.waitFor(
      async () => expect((await call(quick.url, '/v1/users/me', bearer(token))).status).toBe(200),
      {
        timeout: 5000,
        interval: 50,
      },
    );
  });
});

describe('a withdrawn key', () => {
  let keyed: FakeUpstream;
  let edge: StartedService;
  beforeAll(async () => {
    keyed = await startFakeUpstream({ name: 'users', keys: [key.jwk] });
    edge = await startTestGateway(
      { users: [keyed.url], orders: [orders.url] },
      { JWKS_COOLDOWN_MS: '100', JWKS_MAX_AGE_MS: '1000', RATE_LIMIT_MAX_REQUESTS: '10000' },
    );
  });
  afterAll(async () => {
    await edge?.close();
    await keyed?.close();
  });

  it('stops a remembered token once its key is no longer published', async () => {
    const token = await signToken(key);
    expect((await call(edge.url, '/v1/users/me', bearer(token))).status).toBe(200);
    expect((await call(edge.url, '/v1/users/me', bearer(token))).status).toBe(200);
    const replacement = await createSigningKey();
    keyed.keys = [replacement.jwk];
    // Within the key set's maximum age (1 s here) plus one fetch, the token is refused.
    await vi.waitFor(
      async () => expect((await call(edge.url, '/v1/users/me', bearer(token))).status).toBe(401),
      { timeout: 5000, interval: 200 },
    );
    expect((await call(edge.url, '/v1/users/me', bearer(await signToken(replacement)))).status).toBe(200);
  });
});

describe('the verified-token cache', () => {
  function countingVerifier(exp: () => number) {
    const verifier = {
      calls: 0,
      async verify(token: string): Promise<Principal> {
        verifier.calls += 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
        return {
          userId: `usr_${token}`,
          email: 'a@example.com',
          roles: ['member'],
          exp: exp(),
          isAdmin: false,
        };
      },
    } satisfies TokenVerifier & { calls: number };
    return verifier;
  }

  it('verifies a token once, even for concurrent requests', async () => {
    const verifier = countingVerifier(() => Math.floor(Date.now() / 1000) + 900);
    const cache = new VerifiedTokenCache(verifier, 100);
    await Promise.all(Array.from({ length: 10 }, () => cache.verify('t1')));
    expect(cache.get('t1')?.userId).toBe('usr_t1');
    expect(verifier.calls).toBe(1);
  });

  it('never returns a token past its expiry', async () => {
    const verifier = countingVerifier(() => Math.floor(Date.now() / 1000) + 1);
    const cache = new VerifiedTokenCache(verifier, 100);
    await cache.verify('short');
    expect(cache.get('short')).toBeDefined();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 1100);
      expect(cache.get('short')).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });

  it('holds at most its size, dropping the least recently used', async () => {
    const verifier = countingVerifier(() => Math.floor(Date.now() / 1000) + 900);
    const cache = new VerifiedTokenCache(verifier, 2);
    for (const token of ['a', 'b', 'c']) await cache.verify(token);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')).toBeDefined();
  });
});
