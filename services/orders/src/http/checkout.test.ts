import { mode } from '@armature/testing/databases';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestOrders, type TestOrders } from '../test-support/orders-service.ts';

describe(`checkout (${mode})`, () => {
  let orders: TestOrders;

  beforeAll(async () => {
    orders = await startTestOrders('orders-checkout');
  });
  afterAll(() => orders.close());

  const stockOf = async (productId: string) =>
    (await orders.call('GET', `/v1/products/${productId}`)).body.stock;

  it('places an order from the cart: 201, Location, prices captured, stock taken, cart emptied', async () => {
    const member = await orders.minter.user();
    const beans = (await orders.product({ name: 'Beans', amount: 1450, stock: 10 })).id;
    const filter = (await orders.product({ name: 'Filter', amount: 325, stock: 10 })).id;
    await orders.addToCart(member, beans, 2);
    await orders.addToCart(member, filter, 3);

    const placed = await orders.call('POST', `/v1/users/${member.id}/orders`, {
      token: member.token,
      body: { note: 'Leave at the door' },
    });
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({
      userId: member.id,
      status: 'pending',
      total: 38.75,
      itemCount: 5,
      note: 'Leave at the door',
      version: 1,
    });
    expect(placed.headers.get('location')).toBe(`/v1/orders/${placed.body.id}`);
    expect([await stockOf(beans), await stockOf(filter)]).toEqual([8, 7]);
    const cart = await orders.call('GET', '/v1/users/me/cart', { token: member.token });
    expect(cart.body.items).toEqual([]);

    // A later price change leaves the order's captured prices alone.
    await orders.call('PATCH', `/v1/products/${beans}`, { token: orders.admin.token, body: { price: 99 } });
    const items = await orders.call('GET', `/v2/orders/${placed.body.id}/items`, { token: member.token });
    expect(items.body.data).toEqual([
      {
        productId: beans,
        name: 'Beans',
        unitPrice: { amount: 1450, currency: 'USD' },
        quantity: 2,
        lineTotal: { amount: 2900, currency: 'USD' },
      },
      {
        productId: filter,
        name: 'Filter',
        unitPrice: { amount: 325, currency: 'USD' },
        quantity: 3,
        lineTotal: { amount: 975, currency: 'USD' },
      },
    ]);
  });

  it('shows the order total as minor units with a currency in v2, and Location under /v2', async () => {
    const member = await orders.minter.user();
    const product = (await orders.product({ amount: 999 })).id;
    await orders.addToCart(member, product, 1);
    const placed = await orders.call('POST', '/v2/users/me/orders', { token: member.token });
    expect(placed.status).toBe(201);
    expect(placed.body.total).toEqual({ amount: 999, currency: 'USD' });
    expect(placed.headers.get('location')).toBe(`/v2/orders/${placed.body.id}`);
  });

  it('refuses an empty cart with 422 CART_EMPTY', async () => {
    const member = await orders.minter.user();
    const reply = await orders.call('POST', '/v1/users/me/orders', { token: member.token });
    expect(reply.status).toBe(422);
    expect(reply.body.error.code).toBe('CART_EMPTY');
  });

  it('refuses a cart it cannot fill with 422 INSUFFICIENT_STOCK naming every short product, changing nothing', async () => {
    const member = await orders.minter.user();
    const plenty = (await orders.product({ name: 'Plenty', stock: 10 })).id;
    const scarce = (await orders.product({ name: 'Scarce', stock: 1 })).id;
    const retired = (await orders.product({ name: 'Retired', stock: 5 })).id;
    await orders.addToCart(member, plenty, 2);
    await orders.addToCart(member, scarce, 2);
    await orders.addToCart(member, retired, 1);
    await orders.call('DELETE', `/v1/products/${retired}`, { token: orders.admin.token });

    const reply = await orders.call('POST', '/v1/users/me/orders', { token: member.token });
    expect(reply.status).toBe(422);
    expect(reply.body.error.code).toBe('INSUFFICIENT_STOCK');
    const named = reply.body.error.details.map((detail: { field: string }) => detail.field);
    expect(named.sort()).toEqual([scarce, retired].sort());
    expect(reply.body.error.details).toContainEqual({
      field: scarce,
      message: 'requested 2, only 1 available',
    });
    expect([await stockOf(plenty), await stockOf(scarce)]).toEqual([10, 1]);
    const cart = await orders.call('GET', '/v1/users/me/cart', { token: member.token });
    expect(cart.body.itemCount).toBe(5);
  });

  it('sells the last unit once when two buyers check out at the same moment; stock never goes negative', async () => {
    const last = (await orders.product({ name: 'Last one', stock: 1 })).id;
    const buyers = [await orders.minter.user(), await orders.minter.user()];
    for (const buyer of buyers) await orders.addToCart(buyer, last, 1);
    const replies = await Promise.all(
      buyers.map((buyer) => orders.call('POST', '/v1/users/me/orders', { token: buyer.token })),
    );
    expect(replies.map((reply) => reply.status).sort()).toEqual([201, 422]);
    expect(replies.find((reply) => reply.status === 422)?.body.error.code).toBe('INSUFFICIENT_STOCK');
    expect(await stockOf(last)).toBe(0);
    const all = await orders.call('GET', '/v1/orders?limit=100', { token: orders.admin.token });
    const buyerIds = new Set(buyers.map((buyer) => buyer.id));
    expect(all.body.data.filter((order: { userId: string }) => buyerIds.has(order.userId))).toHaveLength(1);
  });

  it('places one order when the same cart is checked out twice at once', async () => {
    const member = await orders.minter.user();
    const product = (await orders.product({ stock: 10 })).id;
    await orders.addToCart(member, product, 2);
    const replies = await Promise.all(
      [1, 2].map(() => orders.call('POST', '/v1/users/me/orders', { token: member.token })),
    );
    expect(replies.map((reply) => reply.status).sort()).toEqual([201, 422]);
    expect(await stockOf(product)).toBe(8);
  });

  describe('Idempotency-Key', () => {
    it('returns the first response to a retry: same status, body and Location, one order, one decrement', async () => {
      const member = await orders.minter.user();
      const product = (await orders.product({ stock: 10 })).id;
      await orders.addToCart(member, product, 3);
      const send = () =>
        orders.call('POST', '/v1/users/me/orders', {
          token: member.token,
          headers: { 'idempotency-key': 'retry-1' },
          body: { note: 'gift' },
        });
      const first = await send();
      // The cart is filled again: a retry must still not place a second order.
      await orders.addToCart(member, product, 1);
      const retry = await send();
      expect(retry.status).toBe(201);
      expect(retry.body).toEqual(first.body);
      expect(retry.headers.get('location')).toBe(first.headers.get('location'));
      expect(await stockOf(product)).toBe(7);
      const mine = await orders.call('GET', '/v1/users/me/orders', { token: member.token });
      expect(mine.body.pagination.total).toBe(1);
    });

    it('places one order for ten retries racing with one key, and answers each with it', async () => {
      const member = await orders.minter.user();
      const product = (await orders.product({ stock: 100 })).id;
      await orders.addToCart(member, product, 4);
      const replies = await Promise.all(
        Array.from({ length: 10 }, () =>
          orders.call('POST', '/v1/users/me/orders', {
            token: member.token,
            headers: { 'idempotency-key': 'race-1' },
          }),
        ),
      );
      expect(replies.map((reply) => reply.status)).toEqual(Array(10).fill(201));
      expect(new Set(replies.map((reply) => reply.body.id)).size).toBe(1);
      expect(await stockOf(product)).toBe(96);
      const mine = await orders.call('GET', '/v1/users/me/orders', { token: member.token });
      expect(mine.body.pagination.total).toBe(1);
    });

    it('refuses the same key with a different body: 409 IDEMPOTENCY_CONFLICT', async () => {
      const member = await orders.minter.user();
      const product = (await orders.product({ stock: 10 })).id;
      await orders.addToCart(member, product, 1);
      const headers = { 'idempotency-key': 'reused' };
      const first = await orders.call('POST', '/v1/users/me/orders', {
        token: member.token,
        headers,
        body: {},
      });
      const other = await orders.call('POST', '/v1/users/me/orders', {
        token: member.token,
        headers,
        body: { note: 'something else' },
      });
      expect(first.status).toBe(201);
      expect(other.status).toBe(409);
      expect(other.body.error.code).toBe('IDEMPOTENCY_CONFLICT');
    });

    it('replays a v1 checkout to a v2 retry in v2 money', async () => {
      const member = await orders.minter.user();
      const product = (await orders.product({ amount: 250, stock: 10 })).id;
      await orders.addToCart(member, product, 2);
      const headers = { 'idempotency-key': 'cross-version' };
      const v1 = await orders.call('POST', '/v1/users/me/orders', { token: member.token, headers });
      const v2 = await orders.call('POST', '/v2/users/me/orders', { token: member.token, headers });
      expect(v2.body.id).toBe(v1.body.id);
      expect(v1.body.total).toBe(5);
      expect(v2.body.total).toEqual({ amount: 500, currency: 'USD' });
      expect(v2.headers.get('location')).toBe(`/v2/orders/${v1.body.id}`);
    });

    it('keeps keys per user: another user with the same key places their own order', async () => {
      const product = (await orders.product({ stock: 10 })).id;
      const [alice, bob] = [await orders.minter.user(), await orders.minter.user()];
      await orders.addToCart(alice, product, 1);
      await orders.addToCart(bob, product, 1);
      const headers = { 'idempotency-key': 'shared-key' };
      const a = await orders.call('POST', '/v1/users/me/orders', { token: alice.token, headers });
      const b = await orders.call('POST', '/v1/users/me/orders', { token: bob.token, headers });
      expect([a.status, b.status]).toEqual([201, 201]);
      expect(a.body.id).not.toBe(b.body.id);
    });

    it('lets a failed attempt be retried with the same key once the cart is fixed', async () => {
      const member = await orders.minter.user();
      const headers = { 'idempotency-key': 'after-empty' };
      const empty = await orders.call('POST', '/v1/users/me/orders', { token: member.token, headers });
      expect(empty.status).toBe(422);
      await orders.addToCart(member, (await orders.product()).id, 1);
      const placed = await orders.call('POST', '/v1/users/me/orders', { token: member.token, headers });
      expect(placed.status).toBe(201);
    });
  });

  it("refuses a member checking out another user's cart (403), lets an admin do it", async () => {
    const owner = await orders.minter.user();
    const other = await orders.minter.user();
    await orders.addToCart(owner, (await orders.product()).id, 1);
    const byOther = await orders.call('POST', `/v1/users/${owner.id}/orders`, { token: other.token });
    expect(byOther.status).toBe(403);
    const byAdmin = await orders.call('POST', `/v1/users/${owner.id}/orders`, { token: orders.admin.token });
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.body.userId).toBe(owner.id);
  });

  it('refuses an unknown body field and an over-long note with 400', async () => {
    const member = await orders.minter.user();
    const unknown = await orders.call('POST', '/v1/users/me/orders', {
      token: member.token,
      body: { coupon: 'x' },
    });
    const long = await orders.call('POST', '/v1/users/me/orders', {
      token: member.token,
      body: { note: 'x'.repeat(501) },
    });
    expect([unknown.status, long.status]).toEqual([400, 400]);
  });
});
