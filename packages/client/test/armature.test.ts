import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ArmatureApiError, createArmature, formatMoney, toMoneyV1, toMoneyV2 } from '../src/index.ts';

/**
 * The client against a real HTTP server that answers as the API would (envelopes, status codes,
 * `Retry-After`, pages with cursors), scripted per test. Waits are recorded, not slept.
 */

let server: FastifyInstance;
let url: string;
const seen: { method: string; url: string; headers: FastifyRequest['headers']; body: unknown }[] = [];
/** Answers queued per `METHOD /path`; the last one repeats. */
let script: Record<
  string,
  Array<
    (request: FastifyRequest) => { status: number; body?: unknown; headers?: Record<string, string> } | 'drop'
  >
> = {};

const envelope = (code: string, message: string, details: unknown[] = []) => ({
  error: { code, message, details },
  requestId: 'req_123',
});
const tokens = (n: number, expiresIn = 900) => ({
  accessToken: `header.access${n}.signature`,
  refreshToken: `refresh-${n}`,
  expiresIn,
});

beforeAll(async () => {
  server = Fastify();
  server.all('/*', async (request, reply) => {
    const path = request.url.split('?')[0];
    seen.push({ method: request.method, url: request.url, headers: request.headers, body: request.body });
    const queue = script[`${request.method} ${path}`];
    if (!queue?.length) return reply.code(404).send(envelope('ROUTE_NOT_FOUND', 'no such route'));
    const answer = (queue.length > 1 ? queue.shift()! : queue[0]!)(request);
    if (answer === 'drop') {
      request.raw.socket.destroy();
      return reply;
    }
    reply.headers(answer.headers ?? {});
    return reply.code(answer.status).send(answer.body);
  });
  url = await server.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(() => server.close());
beforeEach(() => {
  seen.length = 0;
  script = {};
});

function armature(options: { now?: () => number } = {}) {
  const waits: number[] = [];
  const client = createArmature({
    baseUrl: url,
    retry: { sleep: async (ms) => void waits.push(ms), random: () => 0.5 },
    session: { now: options.now },
  });
  return { client, waits };
}

const product = { id: 'prd_1', name: 'Lamp' };

describe('retries', () => {
  it('repeats a GET after a 503 and a dropped connection, with growing backoff, and returns the answer', async () => {
    script['GET /v1/products/prd_1'] = [
      () => ({ status: 503, body: envelope('SERVICE_UNAVAILABLE', 'retry shortly') }),
      () => 'drop',
      () => ({ status: 200, body: product }),
    ];
    const { client, waits } = armature();
    const { data } = await client.api.GET('/v1/products/{id}', { params: { path: { id: 'prd_1' } } });
    expect(data).toEqual(product);
    expect(seen).toHaveLength(3);
    expect(waits).toEqual([150, 300]);
  });

  it('sends an Idempotency-Key with a checkout and the same key on every retry', async () => {
    script['POST /v1/users/me/orders'] = [
      () => ({ status: 502, body: envelope('BAD_GATEWAY', 'upstream failed') }),
      () => ({ status: 201, body: { id: 'ord_1' }, headers: { location: '/v1/orders/ord_1' } }),
    ];
    const { client } = armature();
    const { data } = await client.api.POST('/v1/users/{id}/orders', { params: { path: { id: 'me' } } });
    expect(data).toMatchObject({ id: 'ord_1' });
    const keys = seen.map((request) => request.headers['idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
  });

  it('never repeats a POST without an Idempotency-Key after a 5xx: the error reaches the caller', async () => {
    script['POST /v1/auth/logout'] = [
      () => ({ status: 503, body: envelope('SERVICE_UNAVAILABLE', 'retry') }),
    ];
    const { client } = armature();
    const error = await client.api
      .POST('/v1/auth/logout', { body: { refreshToken: 'x'.repeat(43) } })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ArmatureApiError);
    expect((error as ArmatureApiError).status).toBe(503);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers['idempotency-key']).toBeUndefined();
  });

  it('waits as long as Retry-After says on a 429, then goes on', async () => {
    script['GET /v1/products/prd_1'] = [
      () => ({ status: 429, body: envelope('RATE_LIMITED', 'slow down'), headers: { 'retry-after': '2' } }),
      () => ({ status: 200, body: product }),
    ];
    const { client, waits } = armature();
    await client.api.GET('/v1/products/{id}', { params: { path: { id: 'prd_1' } } });
    expect(waits).toEqual([2000]);
  });

  it('does not wait out a Retry-After longer than its limit: the 429 reaches the caller', async () => {
    script['GET /v1/products/prd_1'] = [
      () => ({
        status: 429,
        body: envelope('RATE_LIMITED', 'slow down'),
        headers: { 'retry-after': '3600' },
      }),
    ];
    const { client, waits } = armature();
    const error = (await client.api
      .GET('/v1/products/{id}', { params: { path: { id: 'prd_1' } } })
      .catch((caught: unknown) => caught)) as ArmatureApiError;
    expect(error.code).toBe('RATE_LIMITED');
    expect(waits).toEqual([]);
  });
});

describe('errors', () => {
  it('throws ArmatureApiError with the code, status, details and request id of the envelope', async () => {
    script['POST /v1/users'] = [
      () => ({
        status: 400,
        body: envelope('VALIDATION_ERROR', 'Invalid request parameters', [
          { field: 'email', message: 'is invalid' },
        ]),
      }),
    ];
    const { client } = armature();
    const error = (await client.api
      .POST('/v1/users', { body: { email: 'nope', name: 'N', password: 'correct horse battery' } })
      .catch((caught: unknown) => caught)) as ArmatureApiError;
    expect(error).toBeInstanceOf(ArmatureApiError);
    expect(error).toMatchObject({
      status: 400,
      code: 'VALIDATION_ERROR',
      message: 'Invalid request parameters',
      details: [{ field: 'email', message: 'is invalid' }],
      requestId: 'req_123',
    });
  });
});

describe('signing in', () => {
  it('sends the access token, refreshes it once shortly before it expires, and logs out', async () => {
    let now = 1_000_000;
    script['POST /v1/auth/login'] = [() => ({ status: 200, body: tokens(1) })];
    script['POST /v1/auth/refresh'] = [() => ({ status: 200, body: tokens(2) })];
    script['POST /v1/auth/logout'] = [() => ({ status: 204 })];
    script['GET /v1/users/me'] = [
      (request) => ({ status: 200, body: { auth: request.headers.authorization } }),
    ];
    const { client } = armature({ now: () => now });

    await client.auth.login({ email: 'ada@example.com', password: 'correct horse battery staple' });
    const first = await client.api.GET('/v1/users/{id}', { params: { path: { id: 'me' } } });
    expect(first.data).toEqual({ auth: 'Bearer header.access1.signature' });

    now += 850_000; // 50 s before the 15 minutes are up
    const [a, b] = await Promise.all([
      client.api.GET('/v1/users/{id}', { params: { path: { id: 'me' } } }),
      client.api.GET('/v1/users/{id}', { params: { path: { id: 'me' } } }),
    ]);
    expect([a.data, b.data]).toEqual([
      { auth: 'Bearer header.access2.signature' },
      { auth: 'Bearer header.access2.signature' },
    ]);
    expect(seen.filter((request) => request.url === '/v1/auth/refresh')).toHaveLength(1);
    expect(seen.find((request) => request.url === '/v1/auth/refresh')?.body).toEqual({
      refreshToken: 'refresh-1',
    });

    await client.auth.logout();
    expect(seen.at(-1)).toMatchObject({ url: '/v1/auth/logout', body: { refreshToken: 'refresh-2' } });
    expect(client.auth.signedIn).toBe(false);
  });

  it('refreshes and sends again once when a token is refused, and ends the session when the refresh is', async () => {
    script['POST /v1/auth/login'] = [() => ({ status: 200, body: tokens(1) })];
    script['POST /v1/auth/refresh'] = [
      () => ({ status: 200, body: tokens(2) }),
      () => ({ status: 401, body: envelope('INVALID_REFRESH_TOKEN', 'refused') }),
    ];
    script['GET /v1/users/me'] = [
      () => ({ status: 401, body: envelope('INVALID_TOKEN', 'revoked') }),
      () => ({ status: 200, body: { ok: true } }),
      () => ({ status: 401, body: envelope('INVALID_TOKEN', 'revoked') }),
    ];
    const { client } = armature();
    await client.auth.login({ email: 'ada@example.com', password: 'correct horse battery staple' });
    const { data } = await client.api.GET('/v1/users/{id}', { params: { path: { id: 'me' } } });
    expect(data).toEqual({ ok: true });

    const refused = (await client.api
      .GET('/v1/users/{id}', { params: { path: { id: 'me' } } })
      .catch((caught: unknown) => caught)) as ArmatureApiError;
    expect(refused.status).toBe(401);
    expect(client.auth.signedIn).toBe(false);
  });
});

describe('two-factor sign-in', () => {
  it('answers a login that needs a code with its challenge, and signs in with the code', async () => {
    const challenge = `mfa_${'a'.repeat(43)}`;
    script['POST /v1/auth/login'] = [
      () => ({ status: 202, body: { mfaChallenge: challenge, expiresIn: 300 } }),
    ];
    script['POST /v1/auth/mfa'] = [() => ({ status: 200, body: tokens(7) })];
    script['GET /v1/users/me'] = [
      (request) => ({ status: 200, body: { auth: request.headers.authorization } }),
    ];
    const { client } = armature();
    const first = await client.auth.login({
      email: 'ada@example.com',
      password: 'correct horse battery staple',
    });
    expect(first).toEqual({ mfaRequired: true, challenge });
    expect(client.auth.signedIn).toBe(false);
    await client.auth.completeMfa(challenge, '123456');
    expect(seen.at(-1)?.body).toEqual({ mfaChallenge: challenge, code: '123456' });
    const { data } = await client.api.GET('/v1/users/{id}', { params: { path: { id: 'me' } } });
    expect(data).toEqual({ auth: 'Bearer header.access7.signature' });
  });
});

describe('lists', () => {
  it('iterates every item of a list across its pages, following the cursors', async () => {
    const pages: Record<string, { data: { id: string }[]; next: string | null }> = {
      first: { data: [{ id: 'ord_1' }, { id: 'ord_2' }], next: 'c2' },
      c2: { data: [{ id: 'ord_3' }, { id: 'ord_4' }], next: 'c3' },
      c3: { data: [{ id: 'ord_5' }], next: null },
    };
    script['GET /v1/users/me/orders'] = [
      (request) => {
        const query = request.query as { cursor?: string; page?: string };
        const page = pages[query.cursor ?? 'first']!;
        return {
          status: 200,
          body: {
            data: page.data,
            pagination: { total: 5, page: 1, limit: 2, hasMore: page.next !== null, nextCursor: page.next },
          },
        };
      },
    ];
    const { client } = armature();
    const ids: string[] = [];
    for await (const order of client.paginate('/v1/users/{id}/orders', {
      params: { path: { id: 'me' }, query: { limit: 2, page: 1 } },
    }))
      ids.push(order.id);
    expect(ids).toEqual(['ord_1', 'ord_2', 'ord_3', 'ord_4', 'ord_5']);
    expect(seen.map((request) => request.url)).toEqual([
      '/v1/users/me/orders?limit=2&page=1',
      '/v1/users/me/orders?limit=2&cursor=c2',
      '/v1/users/me/orders?limit=2&cursor=c3',
    ]);
  });
});

describe('money', () => {
  it('converts between v1 decimals and v2 minor units, and formats v2 for display', () => {
    expect(toMoneyV2(99.99, 'USD')).toEqual({ amount: 9999, currency: 'USD' });
    expect(toMoneyV1({ amount: 9999, currency: 'USD' })).toBe(99.99);
    expect(formatMoney({ amount: 9999, currency: 'USD' }, 'en-US')).toBe('$99.99');
    expect(formatMoney({ amount: 500, currency: 'JPY' }, 'en-US')).toBe('¥500');
  });
});
