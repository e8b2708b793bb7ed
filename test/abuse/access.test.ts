import { mode } from '@armature/testing/databases';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AbuseSystem, expectRefused, type Member, startAbuseSystem } from './support.ts';

/**
 * OWASP API1 (broken object-level authorization) and API3/API6 (mass assignment): a member reaching
 * for another member's user, cart and orders, or writing fields the server owns. Every attempt is a
 * 4xx, and a snapshot of everything the admin can see is the same before and after.
 */

let abuse: AbuseSystem;
let alice: Member;
let bob: Member;
let product: string;
let bobsOrder: { id: string; version: number };

beforeAll(async () => {
  abuse = await startAbuseSystem();
  [alice, bob] = [await abuse.member('alice'), await abuse.member('bob')];
  product = await abuse.product(50);
  const { call } = abuse;
  expect(
    (await call('PUT', `/v1/users/me/cart/items/${product}`, { token: bob.token, body: { quantity: 2 } }))
      .status,
  ).toBe(200);
  const order = await call('POST', '/v1/users/me/orders', { token: bob.token });
  expect(order.status, JSON.stringify(order.body)).toBe(201);
  bobsOrder = { id: order.body.id, version: order.body.version };
  // Bob's cart is not empty either: an attack on it would show.
  expect(
    (await call('PUT', `/v1/users/me/cart/items/${product}`, { token: bob.token, body: { quantity: 1 } }))
      .status,
  ).toBe(200);
});

afterAll(() => abuse?.close());

describe(`object-level access through the gateway (${mode})`, () => {
  it("refuses a member every read and write of another member's user, cart and orders", async () => {
    const { call } = abuse;
    const before = await abuse.snapshot([alice, bob]);
    const token = alice.token;
    const attempts: [string, string, unknown, number][] = [
      ['GET', `/v1/users/${bob.id}`, undefined, 403],
      ['GET', `/v2/users/${bob.id}`, undefined, 403],
      ['GET', `/users/${bob.id}?version=2`, undefined, 403],
      ['PUT', `/v1/users/${bob.id}`, { email: alice.email, name: 'taken over' }, 403],
      ['PATCH', `/v1/users/${bob.id}`, { name: 'taken over' }, 403],
      ['DELETE', `/v1/users/${bob.id}`, undefined, 403],
      ['GET', '/v1/users', undefined, 403],
      ['GET', `/v1/users?email=${encodeURIComponent(bob.email)}`, undefined, 403],
      ['GET', `/v1/users/${bob.id}/cart`, undefined, 403],
      ['PUT', `/v1/users/${bob.id}/cart/items/${product}`, { quantity: 5 }, 403],
      ['DELETE', `/v1/users/${bob.id}/cart/items/${product}`, undefined, 403],
      ['GET', `/v1/users/${bob.id}/orders`, undefined, 403],
      ['POST', `/v1/users/${bob.id}/orders`, {}, 403],
      // Another member's order does not exist for her: 404, so ids cannot be probed.
      ['GET', `/v1/orders/${bobsOrder.id}`, undefined, 404],
      ['GET', `/v2/orders/${bobsOrder.id}`, undefined, 404],
      ['GET', `/v1/orders/${bobsOrder.id}/items`, undefined, 404],
      ['PATCH', `/v1/orders/${bobsOrder.id}`, { status: 'cancelled', version: bobsOrder.version }, 404],
      ['POST', '/v1/products', { name: 'Free lunch', price: 0, stock: 1 }, 403],
      ['PATCH', `/v1/products/${product}`, { price: 0 }, 403],
      ['PUT', `/v1/products/${product}`, { name: 'Free lunch', price: 0, stock: 1000 }, 403],
      ['DELETE', `/v1/products/${product}`, undefined, 403],
      // Admin-only: refused before its parameters are checked, so a refusal teaches nothing.
      ['GET', '/v1/events', undefined, 403],
      ['GET', '/v1/users?unknownFilter=1', undefined, 403],
      ['POST', '/v1/products', { not: 'a product' }, 403],
    ];
    for (const [method, path, body, status] of attempts) {
      const answer = await call(method, path, { token, body });
      expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBe(status);
      expectRefused(answer, status);
    }
    expect(await abuse.snapshot([alice, bob])).toEqual(before);
  });

  it("lists only the caller's own orders, and refuses a filter naming another user", async () => {
    const { call } = abuse;
    const mine = await call('GET', '/v1/orders', { token: alice.token });
    expect(mine.status).toBe(200);
    expect(mine.body.data).toEqual([]);
    expectRefused(
      await call('GET', `/v1/orders?userId=${bob.id}`, { token: alice.token }),
      400,
      'VALIDATION_ERROR',
    );
  });
});

describe(`mass assignment (${mode})`, () => {
  it('refuses server-owned fields when registering, and an admin role without an admin token', async () => {
    const { call } = abuse;
    const before = await abuse.snapshot([alice, bob]);
    const base = { email: `mass-${Date.now()}@example.com`, name: 'Mass', password: 'mass assignment' };
    expectRefused(await call('POST', '/v1/users', { body: { ...base, role: 'admin' } }), 403, 'FORBIDDEN');
    expectRefused(
      await call('POST', '/v1/users', { token: alice.token, body: { ...base, role: 'admin' } }),
      403,
      'FORBIDDEN',
    );
    for (const extra of [
      { id: bob.id },
      { version: 7 },
      { createdAt: '2020-01-01T00:00:00Z' },
      { updatedAt: '2020-01-01T00:00:00Z' },
      { emailVerifiedAt: '2020-01-01T00:00:00Z' },
      { passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$x$y' },
      { deletedAt: null },
    ]) {
      expectRefused(
        await call('POST', '/v1/users', { body: { ...base, ...extra } }),
        400,
        'VALIDATION_ERROR',
      );
    }
    expect(await abuse.snapshot([alice, bob])).toEqual(before);
  });

  it("refuses a member's writes of role, id and timestamps on her own user, and never lets her set the version", async () => {
    const { call } = abuse;
    const token = alice.token;
    const before = await abuse.snapshot([alice, bob]);
    const current = (await call('GET', '/v1/users/me', { token })).body;
    expectRefused(await call('PATCH', '/v1/users/me', { token, body: { role: 'admin' } }), 403, 'FORBIDDEN');
    expectRefused(
      await call('PUT', '/v1/users/me', {
        token,
        body: { email: alice.email, name: 'Alice', role: 'admin' },
      }),
      403,
      'FORBIDDEN',
    );
    for (const extra of [
      { id: bob.id },
      { createdAt: '2020-01-01T00:00:00Z' },
      { updatedAt: '2020-01-01T00:00:00Z' },
      { emailVerifiedAt: '2020-01-01T00:00:00Z' },
      { password: 'a new password' },
    ]) {
      expectRefused(await call('PATCH', '/v1/users/me', { token, body: extra }), 400, 'VALIDATION_ERROR');
      expectRefused(
        await call('PUT', '/v1/users/me', { token, body: { email: alice.email, name: 'Alice', ...extra } }),
        400,
        'VALIDATION_ERROR',
      );
    }
    // `version` is a precondition, not a value: a wrong one is a conflict, a right one is raised by one.
    expectRefused(
      await call('PATCH', '/v1/users/me', { token, body: { name: 'Alice', version: current.version + 10 } }),
      409,
      'VERSION_CONFLICT',
    );
    expect(await abuse.snapshot([alice, bob])).toEqual(before);
    const changed = await call('PATCH', '/v1/users/me', {
      token,
      body: { name: 'Alice Renamed', version: current.version },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ role: 'member', version: current.version + 1, id: alice.id });
    expect(changed.body.createdAt).toBe(current.createdAt);
  });

  it('refuses prices, totals, owners and statuses smuggled into cart, checkout and order writes', async () => {
    const { call } = abuse;
    const token = bob.token;
    const before = await abuse.snapshot([alice, bob]);
    for (const body of [
      { quantity: 1, price: 0 },
      { quantity: 1, unitPrice: 0.01 },
      { quantity: 1, userId: alice.id },
      { quantity: 1, lineTotal: 0 },
    ]) {
      expectRefused(
        await call('PUT', `/v1/users/me/cart/items/${product}`, { token, body }),
        400,
        'VALIDATION_ERROR',
      );
    }
    for (const body of [
      { total: 0 },
      { userId: alice.id },
      { status: 'shipped' },
      { items: [] },
      { id: bobsOrder.id },
    ]) {
      expectRefused(await call('POST', '/v1/users/me/orders', { token, body }), 400, 'VALIDATION_ERROR');
    }
    for (const extra of [
      { total: 0 },
      { userId: alice.id },
      { itemCount: 0 },
      { createdAt: '2020-01-01T00:00:00Z' },
    ]) {
      expectRefused(
        await call('PATCH', `/v1/orders/${bobsOrder.id}`, {
          token,
          body: { status: 'cancelled', version: bobsOrder.version, ...extra },
        }),
        400,
        'VALIDATION_ERROR',
      );
    }
    // Only an admin moves an order along (marks it paid); a member may only cancel.
    expectRefused(
      await call('PATCH', `/v1/orders/${bobsOrder.id}`, {
        token,
        body: { status: 'paid', version: bobsOrder.version },
      }),
      403,
      'FORBIDDEN',
    );
    expect(await abuse.snapshot([alice, bob])).toEqual(before);
  });
});
