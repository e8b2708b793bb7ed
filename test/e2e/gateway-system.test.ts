import { randomUUID } from 'node:crypto';
import { startSystem, type TestSystem } from '@armature/testing/system';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let system: TestSystem;
let token: string;

async function call(path: string, init: RequestInit = {}) {
  const response = await fetch(`${system.url}${path}`, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/** Requests the users service has answered on API routes (its own request histogram). */
async function usersApiRequests(): Promise<number> {
  const text = await (await fetch(`${system.services.users.url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^http_request_duration_seconds_count\{([^}]*)\} (\d+)/.exec(line);
    if (match && /route="\/v\d/.test(match[1])) total += Number(match[2]);
  }
  return total;
}

beforeAll(async () => {
  system = await startSystem();
  const email = `gateway-${randomUUID()}@example.com`;
  const password = 'correct horse battery staple';
  const registered = await call('/v1/users', json({ email, name: 'Gateway Tester', password }));
  expect(registered.status).toBe(201);
  const login = await call('/v1/auth/login', json({ email, password }));
  expect(login.status).toBe(200);
  token = login.body.accessToken;
});

afterAll(() => system?.close());

describe('the gateway in front of the real services', () => {
  it("accepts the users service's own tokens, checked against its published keys", async () => {
    const me = await call('/v1/users/me', { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(me.body.id).toMatch(/^usr_/);
    expect(me.headers.get('api-version')).toBe('1');
    expect(me.headers.get('deprecation')).toMatch(/^@\d+$/);
  });

  it('reaches the same handler by path, Accept header and query parameter', async () => {
    const authorization = `Bearer ${token}`;
    const answers = [
      await call('/v2/users/me', { headers: { authorization } }),
      await call('/users/me', { headers: { authorization, accept: 'application/vnd.api+json;version=2' } }),
      await call('/users/me?version=2', { headers: { authorization } }),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.headers.get('api-version')).toBe('2');
      expect(answer.body).toEqual(answers[0].body);
    }
    const products = [
      await call('/v2/products?limit=5'),
      await call('/products?limit=5', { headers: { accept: 'application/vnd.api+json;version=2' } }),
      await call('/products?version=2&limit=5'),
    ];
    for (const answer of products) {
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual(products[0].body);
    }
  });

  it('gives the documented 400 for conflicting and unsupported versions', async () => {
    const conflicting = await call('/v1/products', {
      headers: { accept: 'application/vnd.api+json;version=2' },
    });
    expect(conflicting.status).toBe(400);
    expect(conflicting.body.error.code).toBe('UNSUPPORTED_VERSION');
    const unsupported = await call('/products?version=7');
    expect(unsupported.status).toBe(400);
    expect(unsupported.body.error.code).toBe('UNSUPPORTED_VERSION');
  });

  it('answers a private route without a token itself: the users service never sees it', async () => {
    const before = await usersApiRequests();
    for (let i = 0; i < 5; i++) {
      const { status, headers, body } = await call('/v1/users/me');
      expect(status).toBe(401);
      expect(headers.get('www-authenticate')).toBe('Bearer');
      expect(body.error.code).toBe('UNAUTHORIZED');
    }
    expect(await usersApiRequests()).toBe(before);
    // The counter does move for requests that are let through.
    await call('/v1/users/me', { headers: { authorization: `Bearer ${token}` } });
    expect(await usersApiRequests()).toBe(before + 1);
  });

  it('reports the rate limit on every answer', async () => {
    const { headers } = await call('/v1/products');
    expect(Number(headers.get('x-ratelimit-limit'))).toBeGreaterThan(0);
    expect(headers.get('x-ratelimit-remaining')).not.toBeNull();
    expect(Number(headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000 - 1);
  });
});
