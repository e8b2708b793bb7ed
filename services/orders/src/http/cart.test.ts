import { mode } from '@armature/testing/databases';
import type { TestUser } from '@armature/testing/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestOrders, type TestOrders } from '../test-support/orders-service.ts';

describe(`cart (${mode})`, () => {
  let orders: TestOrders;
  let kettle: string;
  let mug: string;

  beforeAll(async () => {
    orders = await startTestOrders('orders-cart');
    kettle = (await orders.product({ name: 'Kettle', amount: 4250, stock: 3 })).id;
    mug = (await orders.product({ name: 'Mug', amount: 1199, stock: 50 })).id;
  });
  afterAll(() => orders.close());

  const put = (user: TestUser, productId: string, quantity: unknown, path = '/v1/users/me') =>
    orders.call('PUT', `${path}/cart/items/${productId}`, { token: user.token, body: { quantity } });

  it('starts empty', async () => {
    const member = await orders.minter.user();
    const reply = await orders.call('GET', '/v1/users/me/cart', { token: member.token });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ userId: member.id, items: [], itemCount: 0, total: 0 });
  });

  it('sets quantities idempotently and totals the lines, in v1 decimals and v2 minor units', async () => {
    const member = await orders.minter.user();
    await put(member, kettle, 2);
    const twice = await put(member, kettle, 2);
    expect(twice.status).toBe(200);
    const cart = await put(member, mug, 3);
    expect(cart.body.items).toEqual([
      { productId: kettle, name: 'Kettle', unitPrice: 42.5, quantity: 2, lineTotal: 85, available: true },
      { productId: mug, name: 'Mug', unitPrice: 11.99, quantity: 3, lineTotal: 35.97, available: true },
    ]);
    expect(cart.body).toMatchObject({ itemCount: 5, total: 120.97 });
    const v2 = await orders.call('GET', `/v2/users/${member.id}/cart`, { token: member.token });
    expect(v2.body.total).toEqual({ amount: 12097, currency: 'USD' });
    expect(v2.body.items[1].unitPrice).toEqual({ amount: 1199, currency: 'USD' });
  });

  it('removes a line when its quantity is set to 0 or it is deleted (204)', async () => {
    const member = await orders.minter.user();
    await put(member, kettle, 1);
    await put(member, mug, 1);
    const zero = await put(member, kettle, 0);
    expect(zero.body.items.map((item: { productId: string }) => item.productId)).toEqual([mug]);
    const deleted = await orders.call('DELETE', `/v1/users/me/cart/items/${mug}`, { token: member.token });
    expect(deleted.status).toBe(204);
    const deletedAgain = await orders.call('DELETE', `/v1/users/me/cart/items/${mug}`, {
      token: member.token,
    });
    expect(deletedAgain.status).toBe(204);
    const cart = await orders.call('GET', '/v1/users/me/cart', { token: member.token });
    expect(cart.body.items).toEqual([]);
  });

  it('refuses quantities outside 0–1000 and non-integers with 400', async () => {
    const member = await orders.minter.user();
    for (const quantity of [-1, 1001, 1.5, 'two']) {
      const reply = await put(member, kettle, quantity);
      expect(reply.status, String(quantity)).toBe(400);
      expect(reply.body.error.details[0].field).toBe('quantity');
    }
    const missing = await orders.call('PUT', `/v1/users/me/cart/items/${kettle}`, {
      token: member.token,
      body: {},
    });
    expect(missing.status).toBe(400);
  });

  it('answers 404 for an unknown, malformed or deleted product', async () => {
    const member = await orders.minter.user();
    const unknown = await put(member, 'prd_01h455vb4pex5vsknk084sn02q', 1);
    const malformed = await put(member, 'kettle', 1);
    const removedUnknown = await orders.call(
      'DELETE',
      '/v1/users/me/cart/items/prd_01h455vb4pex5vsknk084sn02q',
      {
        token: member.token,
      },
    );
    const gone = (await orders.product({ name: 'Gone soon' })).id;
    await orders.call('DELETE', `/v1/products/${gone}`, { token: orders.admin.token });
    const deleted = await put(member, gone, 1);
    expect([unknown.status, malformed.status, removedUnknown.status, deleted.status]).toEqual([
      404, 404, 404, 404,
    ]);
  });

  it('marks a line unavailable when its product runs short or leaves the catalog', async () => {
    const member = await orders.minter.user();
    const scarce = (await orders.product({ name: 'Scarce', stock: 1 })).id;
    const retired = (await orders.product({ name: 'Retired', stock: 10 })).id;
    await put(member, scarce, 2);
    await put(member, retired, 1);
    await orders.call('DELETE', `/v1/products/${retired}`, { token: orders.admin.token });
    const cart = await orders.call('GET', '/v1/users/me/cart', { token: member.token });
    expect(cart.body.items.map((item: { available: boolean }) => item.available)).toEqual([false, false]);
    const removed = await orders.call('DELETE', `/v1/users/me/cart/items/${retired}`, {
      token: member.token,
    });
    expect(removed.status).toBe(204);
  });

  it("keeps members out of each other's carts (403) and lets an admin in", async () => {
    const owner = await orders.minter.user();
    const other = await orders.minter.user();
    await put(owner, mug, 4);
    const peek = await orders.call('GET', `/v1/users/${owner.id}/cart`, { token: other.token });
    const change = await put(other, mug, 1, `/v1/users/${owner.id}`);
    const remove = await orders.call('DELETE', `/v1/users/${owner.id}/cart/items/${mug}`, {
      token: other.token,
    });
    expect([peek.status, change.status, remove.status]).toEqual([403, 403, 403]);
    const asAdmin = await orders.call('GET', `/v1/users/${owner.id}/cart`, { token: orders.admin.token });
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body.itemCount).toBe(4);
  });

  it('needs a valid token (401)', async () => {
    const none = await orders.call('GET', '/v1/users/me/cart');
    const forged = await orders.call('GET', '/v1/users/me/cart', { token: 'eyJhbGciOiJFZERTQSJ9.e30.c2ln' });
    expect([none.status, forged.status]).toEqual([401, 401]);
    expect(forged.body.error.code).toBe('INVALID_TOKEN');
  });
});
