import { mode } from '@armature/testing/databases';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestOrders, type TestOrders } from '../services/orders/src/test-support/orders-service.ts';
import { startTestUsers, type TestUsers } from '../services/users/src/testing.ts';

/**
 * One optimistic-locking rule for every resource with a `version`: a body `version` and an `If-Match`
 * that disagree mean one of them is stale, so the answer is the 409 a stale version gets, and
 * nothing changes. Pinned against each service that has such a resource.
 */
describe(`a body version and If-Match that disagree (${mode})`, () => {
  let users: TestUsers;
  let orders: TestOrders;

  beforeAll(async () => {
    [users, orders] = await Promise.all([startTestUsers('locking-users'), startTestOrders('locking-orders')]);
  });
  afterAll(async () => {
    await Promise.all([users?.close(), orders?.close()]);
  });

  it('is a 409 VERSION_CONFLICT on a user, which stays as it was', async () => {
    const member = await users.member();
    const reply = await users.call('PUT', `/v1/users/${member.id}`, {
      token: member.accessToken,
      headers: { 'if-match': '"2"' },
      body: { email: member.email, name: 'Changed', version: 1 },
    });
    expect(reply.status).toBe(409);
    expect(reply.body.error.code).toBe('VERSION_CONFLICT');
    const now = await users.call('GET', '/v1/users/me', { token: member.accessToken });
    expect(now.body).toMatchObject({ version: 1 });
    expect(now.body.name).not.toBe('Changed');
  });

  it('is a 409 VERSION_CONFLICT on an order, which stays as it was', async () => {
    const buyer = await orders.minter.user();
    const product = await orders.product({ amount: 100, stock: 10 });
    await orders.addToCart(buyer, product.id, 1);
    const placed = await orders.call('POST', '/v1/users/me/orders', { token: buyer.token });
    expect(placed.status).toBe(201);
    const reply = await orders.call('PATCH', `/v1/orders/${placed.body.id}`, {
      token: orders.admin.token,
      headers: { 'if-match': '"2"' },
      body: { status: 'paid', version: 1 },
    });
    expect(reply.status).toBe(409);
    expect(reply.body.error.code).toBe('VERSION_CONFLICT');
    const now = await orders.call('GET', `/v1/orders/${placed.body.id}`, { token: buyer.token });
    expect(now.body).toMatchObject({ status: 'pending', version: 1 });
  });
});
