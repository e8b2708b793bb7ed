import { mode } from '@armature/testing/databases';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AbuseSystem,
  type Answer,
  expectClientError,
  type Member,
  startAbuseSystem,
} from './support.ts';

/**
 * SQL injection (OWASP API8, injection) in every filter, sort, fields and cursor parameter of every
 * list, in path ids, in login bodies and in the Idempotency-Key header. Each answer is a 400 (or, for
 * a free-text filter a payload happens to satisfy, a 200 that matched nothing); none is a 5xx; and
 * every table is still there, unchanged.
 */

const payloads = [
  "' OR '1'='1",
  "' OR 1=1 --",
  "'; DROP TABLE users; --",
  '"; DROP TABLE orders; --',
  '1; SELECT pg_sleep(5) --',
  "1' UNION SELECT password_hash, email FROM users --",
  '$$; DELETE FROM products; $$',
  "\\'; TRUNCATE outbox; --",
  ') OR (1=1',
  'createdAt; DROP TABLE users',
  '-createdAt,(SELECT 1)',
  'name DESC NULLS FIRST',
  'id,password_hash',
  "x'::text",
  '%27%20OR%201%3D1',
  '1e309',
  '-1',
  '0x7fffffff',
  "a' OR email LIKE '%",
  "admin'--@example.com",
];

interface ListUnderTest {
  path: () => string;
  token: () => string | undefined;
  params: string[];
}

let abuse: AbuseSystem;
let member: Member;
let orderId: string;

/** The query parameters of a member's order list, on both paths that serve it. */
const orderListParams = [
  'page',
  'limit',
  'cursor',
  'sort',
  'fields',
  'status',
  'createdAfter',
  'createdBefore',
  'minTotal',
  'maxTotal',
];

const lists: ListUnderTest[] = [
  {
    path: () => '/v1/users',
    token: () => abuse.admin.token,
    params: ['page', 'limit', 'cursor', 'sort', 'fields', 'role', 'email', 'createdAfter', 'createdBefore'],
  },
  {
    path: () => '/v1/orders',
    token: () => member.token,
    params: orderListParams,
  },
  {
    path: () => '/v2/users/me/orders',
    token: () => member.token,
    params: orderListParams,
  },
  {
    path: () => '/v1/products',
    token: () => undefined,
    params: ['page', 'limit', 'cursor', 'sort', 'fields', 'minPrice', 'maxPrice', 'inStock'],
  },
  {
    path: () => `/v1/orders/${orderId}/items`,
    token: () => member.token,
    params: ['page', 'limit', 'cursor'],
  },
];

/** Filters whose values are free text: a payload may pass their format and then must match nothing. */
const freeText = new Set(['email']);
/** Numeric parameters: a payload that is a number in another notation (`0x7fffffff`) is just a number. */
const numeric = new Set(['page', 'limit', 'minTotal', 'maxTotal', 'minPrice', 'maxPrice']);

beforeAll(async () => {
  abuse = await startAbuseSystem();
  member = await abuse.member('injector');
  const product = await abuse.product();
  await abuse.call('PUT', `/v1/users/me/cart/items/${product}`, {
    token: member.token,
    body: { quantity: 1 },
  });
  const order = await abuse.call('POST', '/v1/users/me/orders', { token: member.token });
  expect(order.status).toBe(201);
  orderId = order.body.id;
});

afterAll(() => abuse?.close());

function expectHarmless(answer: Answer, param: string, payload: string, what: string) {
  if (answer.status === 200 && freeText.has(param)) {
    expect(answer.body.data, what).toEqual([]);
    return;
  }
  if (answer.status === 200 && numeric.has(param) && Number.isFinite(Number(payload))) return;
  expect(answer.status, `${what}: ${answer.status} ${JSON.stringify(answer.body)}`).toBe(400);
  expect(answer.body.error.code, what).toMatch(/^(VALIDATION_ERROR|INVALID_CURSOR)$/);
}

describe(`SQL injection (${mode})`, () => {
  it('answers every list parameter carrying an injection with a 400, and changes nothing', async () => {
    const before = await abuse.snapshot([member]);
    let requests = 0;
    for (const list of lists) {
      for (const param of list.params) {
        for (const payload of payloads) {
          const path = `${list.path()}?${param}=${encodeURIComponent(payload)}`;
          const answer = await abuse.call('GET', path, { token: list.token() });
          expectHarmless(answer, param, payload, `GET ${path}`);
          requests++;
        }
      }
    }
    expect(requests).toBeGreaterThan(600);
    expect(await abuse.snapshot([member])).toEqual(before);
  });

  it('refuses injections in path ids, login bodies and the Idempotency-Key header', async () => {
    const before = await abuse.snapshot([member]);
    const { call, admin } = abuse;
    for (const payload of payloads) {
      const id = encodeURIComponent(payload);
      expectClientError(await call('GET', `/v1/users/${id}`, { token: admin.token }), [404]);
      expectClientError(await call('GET', `/v1/orders/${id}`, { token: member.token }), [404]);
      expectClientError(await call('GET', `/v1/products/${id}`), [404]);
      expectClientError(await call('GET', `/v1/users/${id}/orders`, { token: admin.token }), [404]);
      const login = await call('POST', '/v1/auth/login', { body: { email: payload, password: payload } });
      expectClientError(login, [400, 401]);
      const injectedKey = await call('POST', '/v1/users/me/orders', {
        token: member.token,
        headers: { 'idempotency-key': payload },
      });
      // A key of the wrong shape is refused; one of a valid shape still finds an empty cart.
      expectClientError(injectedKey, [400, 422]);
    }
    expect(await abuse.snapshot([member])).toEqual(before);
  });
});
