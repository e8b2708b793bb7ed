import { mode } from '@armature/testing/databases';
import type { TestUser } from '@armature/testing/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestOrders, type TestOrders } from '../test-support/orders-service.ts';

describe(`order history and status (${mode})`, () => {
  let orders: TestOrders;
  let alice: TestUser;
  let bob: TestUser;
  let cent: string;
  /** Alice's orders, oldest first, with totals 3.00, 1.00, 4.00, 2.00. */
  const aliceOrders: Array<{ id: string; total: number }> = [];
  let bobOrder: string;

  const place = async (user: TestUser, cents: number) => {
    await orders.addToCart(user, cent, cents);
    const reply = await orders.call('POST', '/v1/users/me/orders', { token: user.token });
    if (reply.status !== 201) throw new Error(JSON.stringify(reply.body));
    return reply.body as { id: string; total: number; version: number };
  };
  const stockOf = async (productId: string) =>
    (await orders.call('GET', `/v1/products/${productId}`)).body.stock;
  const ids = (body: { data: Array<{ id: string }> }) => body.data.map((order) => order.id);

  beforeAll(async () => {
    orders = await startTestOrders('orders-history');
    alice = await orders.minter.user();
    bob = await orders.minter.user();
    cent = (await orders.product({ name: 'Penny sweet', amount: 1, stock: 100_000 })).id;
    for (const cents of [300, 100, 400, 200]) {
      const order = await place(alice, cents);
      aliceOrders.push({ id: order.id, total: order.total });
    }
    bobOrder = (await place(bob, 500)).id;
    // One of Alice's orders is paid, so the status filter has something to tell apart.
    await orders.call('PATCH', `/v1/orders/${aliceOrders[2]!.id}`, {
      token: orders.admin.token,
      body: { status: 'paid', version: 1 },
    });
  });
  afterAll(() => orders.close());

  describe('lists', () => {
    it('shows a member their own orders, newest first, on both of their routes', async () => {
      const own = await orders.call('GET', '/v1/users/me/orders', { token: alice.token });
      const all = await orders.call('GET', '/v1/orders', { token: alice.token });
      expect(own.status).toBe(200);
      expect(ids(own.body)).toEqual(aliceOrders.map((order) => order.id).reverse());
      expect(ids(all.body)).toEqual(ids(own.body));
      expect(own.body.pagination).toMatchObject({ total: 4, page: 1, hasMore: false });
    });

    it('shows an admin every order, and any user’s orders', async () => {
      const all = await orders.call('GET', '/v1/orders', { token: orders.admin.token });
      expect(all.body.pagination.total).toBe(5);
      const bobs = await orders.call('GET', `/v1/users/${bob.id}/orders`, { token: orders.admin.token });
      expect(ids(bobs.body)).toEqual([bobOrder]);
    });

    it("refuses a member another user's order list (403)", async () => {
      const reply = await orders.call('GET', `/v1/users/${alice.id}/orders`, { token: bob.token });
      expect(reply.status).toBe(403);
      expect(reply.body.error.code).toBe('FORBIDDEN');
    });

    it('filters by status, creation time and total (decimals in v1, minor units in v2)', async () => {
      const get = async (query: string, version = 1) =>
        ids((await orders.call('GET', `/v${version}/users/me/orders?${query}`, { token: alice.token })).body);
      expect(await get('status=paid')).toEqual([aliceOrders[2]!.id]);
      expect(await get('status=pending')).toHaveLength(3);
      expect(await get('createdAfter=2000-01-01')).toHaveLength(4);
      expect(await get('createdAfter=2999-01-01T00:00:00Z')).toEqual([]);
      expect(await get('createdBefore=2000-01-01')).toEqual([]);
      const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
      expect(await get(`createdBefore=${tomorrow}`)).toHaveLength(4);
      expect(await get('minTotal=2&maxTotal=3.5&sort=total')).toEqual([
        aliceOrders[3]!.id,
        aliceOrders[0]!.id,
      ]);
      expect(await get('minTotal=200&maxTotal=350&sort=total', 2)).toEqual([
        aliceOrders[3]!.id,
        aliceOrders[0]!.id,
      ]);
    });

    it('refuses unknown filters, bad filter values, unknown sort keys and unknown fields with 400', async () => {
      for (const query of [
        'colour=red',
        'status=lost',
        'createdAfter=yesterday',
        'minTotal=-1',
        'sort=status',
        'fields=id,secret',
      ]) {
        const reply = await orders.call('GET', `/v1/orders?${query}`, { token: alice.token });
        expect(reply.status, query).toBe(400);
        expect(reply.body.error.code, query).toBe('VALIDATION_ERROR');
      }
      const v2Decimal = await orders.call('GET', '/v2/orders?minTotal=1.5', { token: alice.token });
      expect(v2Decimal.status).toBe(400);
    });

    it('sorts by -createdAt,+total the same whether the + is sent raw or as %2B', async () => {
      const raw = await orders.call('GET', '/v1/users/me/orders?sort=-createdAt,+total', {
        token: alice.token,
      });
      const encoded = await orders.call('GET', '/v1/users/me/orders?sort=-createdAt,%2Btotal', {
        token: alice.token,
      });
      expect(raw.status).toBe(200);
      expect(ids(raw.body)).toEqual(aliceOrders.map((order) => order.id).reverse());
      expect(ids(encoded.body)).toEqual(ids(raw.body));
      const byTotal = await orders.call('GET', '/v1/users/me/orders?sort=-total', { token: alice.token });
      expect(byTotal.body.data.map((order: { total: number }) => order.total)).toEqual([4, 3, 2, 1]);
    });

    it('returns only the requested fields', async () => {
      const reply = await orders.call('GET', '/v1/users/me/orders?fields=id,total&sort=total&limit=2', {
        token: alice.token,
      });
      expect(reply.body.data).toEqual([
        { id: aliceOrders[1]!.id, total: 1 },
        { id: aliceOrders[3]!.id, total: 2 },
      ]);
      const v2 = await orders.call('GET', '/v2/users/me/orders?fields=total&sort=total&limit=1', {
        token: alice.token,
      });
      expect(v2.body.data).toEqual([{ id: aliceOrders[1]!.id, total: { amount: 100, currency: 'USD' } }]);
    });

    it('pages by offset and by cursor', async () => {
      const second = await orders.call('GET', '/v1/users/me/orders?sort=total&limit=3&page=2', {
        token: alice.token,
      });
      expect(second.body.data.map((order: { total: number }) => order.total)).toEqual([4]);
      expect(second.body.pagination).toMatchObject({ total: 4, page: 2, limit: 3, hasMore: false });
      const first = await orders.call('GET', '/v1/users/me/orders?sort=total&limit=3', {
        token: alice.token,
      });
      expect(first.body.pagination.hasMore).toBe(true);
      const next = await orders.call(
        'GET',
        `/v1/users/me/orders?sort=total&limit=3&cursor=${first.body.pagination.nextCursor}`,
        { token: alice.token },
      );
      expect(ids(next.body)).toEqual(ids(second.body));
      expect(next.body.pagination.page).toBeNull();
      const both = await orders.call('GET', `/v1/orders?page=2&cursor=${first.body.pagination.nextCursor}`, {
        token: alice.token,
      });
      expect(both.status).toBe(400);
    });
  });

  describe('one order', () => {
    it('shows an order to its owner and to an admin, and answers 404 to anyone else', async () => {
      const id = aliceOrders[0]!.id;
      const owner = await orders.call('GET', `/v1/orders/${id}`, { token: alice.token });
      const admin = await orders.call('GET', `/v2/orders/${id}`, { token: orders.admin.token });
      const stranger = await orders.call('GET', `/v1/orders/${id}`, { token: bob.token });
      const strangerItems = await orders.call('GET', `/v1/orders/${id}/items`, { token: bob.token });
      const anonymous = await orders.call('GET', `/v1/orders/${id}`);
      expect(owner.body).toMatchObject({ id, userId: alice.id, total: 3, status: 'pending', itemCount: 300 });
      expect(admin.body.total).toEqual({ amount: 300, currency: 'USD' });
      expect([stranger.status, strangerItems.status, anonymous.status]).toEqual([404, 404, 401]);
    });

    it('answers 404 for unknown and malformed order ids', async () => {
      const unknown = await orders.call('GET', '/v1/orders/ord_01h455vb4pex5vsknk084sn02q', {
        token: orders.admin.token,
      });
      const malformed = await orders.call('GET', '/v1/orders/12345/items', { token: orders.admin.token });
      expect([unknown.status, malformed.status]).toEqual([404, 404]);
    });

    it('pages through the lines of an order', async () => {
      const member = await orders.minter.user();
      const products = [
        await orders.product({ name: 'A' }),
        await orders.product({ name: 'B' }),
        await orders.product({ name: 'C' }),
      ];
      for (const product of products) await orders.addToCart(member, product.id, 1);
      const order = (await orders.call('POST', '/v1/users/me/orders', { token: member.token })).body;
      const first = await orders.call('GET', `/v1/orders/${order.id}/items?limit=2`, { token: member.token });
      expect(first.body.data.map((item: { name: string }) => item.name)).toEqual(['A', 'B']);
      expect(first.body.pagination).toMatchObject({ total: 3, hasMore: true });
      const rest = await orders.call(
        'GET',
        `/v1/orders/${order.id}/items?limit=2&cursor=${first.body.pagination.nextCursor}`,
        { token: member.token },
      );
      expect(rest.body.data.map((item: { name: string }) => item.name)).toEqual(['C']);
      const sorted = await orders.call('GET', `/v1/orders/${order.id}/items?sort=name`, {
        token: member.token,
      });
      expect(sorted.status).toBe(400);
    });
  });

  describe('status changes', () => {
    it('lets a member cancel their own pending order: version goes up, stock comes back', async () => {
      const member = await orders.minter.user();
      const product = (await orders.product({ stock: 10 })).id;
      await orders.addToCart(member, product, 4);
      const order = (await orders.call('POST', '/v1/users/me/orders', { token: member.token })).body;
      expect(await stockOf(product)).toBe(6);
      const cancelled = await orders.call('PATCH', `/v1/orders/${order.id}`, {
        token: member.token,
        body: { status: 'cancelled', version: 1 },
      });
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toMatchObject({ id: order.id, status: 'cancelled', version: 2 });
      expect(await stockOf(product)).toBe(10);
    });

    it('lets only admins move orders along: pending → paid → shipped → delivered', async () => {
      const order = await place(bob, 1);
      const byMember = await orders.call('PATCH', `/v1/orders/${order.id}`, {
        token: bob.token,
        body: { status: 'paid', version: 1 },
      });
      expect(byMember.status).toBe(403);
      let version = 1;
      for (const status of ['paid', 'shipped', 'delivered']) {
        const reply = await orders.call('PATCH', `/v1/orders/${order.id}`, {
          token: orders.admin.token,
          body: { status, version },
        });
        expect(reply.status, status).toBe(200);
        expect(reply.body.status).toBe(status);
        version = reply.body.version;
      }
      expect(version).toBe(4);
    });

    it('refuses moves the lifecycle lacks with 422 INVALID_TRANSITION, changing nothing', async () => {
      const order = await place(bob, 1);
      const patch = (status: string, version: number) =>
        orders.call('PATCH', `/v1/orders/${order.id}`, {
          token: orders.admin.token,
          body: { status, version },
        });
      const skip = await patch('shipped', 1);
      expect(skip.status).toBe(422);
      expect(skip.body.error.code).toBe('INVALID_TRANSITION');
      expect((await patch('pending', 1)).status).toBe(422);
      await patch('paid', 1);
      await patch('shipped', 2);
      const cancelShipped = await patch('cancelled', 3);
      expect(cancelShipped.status).toBe(422);
      const read = await orders.call('GET', `/v1/orders/${order.id}`, { token: bob.token });
      expect(read.body).toMatchObject({ status: 'shipped', version: 3 });
    });

    it('lets an admin, or its customer before it ships, cancel a paid order, and returns its stock', async () => {
      const member = await orders.minter.user();
      const product = (await orders.product({ stock: 5 })).id;
      const paidOrder = async (quantity: number) => {
        await orders.addToCart(member, product, quantity);
        const order = (await orders.call('POST', '/v1/users/me/orders', { token: member.token })).body;
        await orders.call('PATCH', `/v1/orders/${order.id}`, {
          token: orders.admin.token,
          body: { status: 'paid', version: 1 },
        });
        return order.id as string;
      };
      const byAdmin = await paidOrder(2);
      const byMember = await paidOrder(3);
      expect(await stockOf(product)).toBe(0);
      const cancelled = await orders.call('PATCH', `/v1/orders/${byAdmin}`, {
        token: orders.admin.token,
        body: { status: 'cancelled', version: 2 },
      });
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toMatchObject({ status: 'cancelled', cancelReason: 'requested' });
      const memberCancel = await orders.call('PATCH', `/v1/orders/${byMember}`, {
        token: member.token,
        body: { status: 'cancelled', version: 2 },
      });
      expect(memberCancel.status).toBe(200);
      expect(await stockOf(product)).toBe(5);
    });

    it('refuses a member shipping their paid order (403), and cancelling a shipped one (422)', async () => {
      const member = await orders.minter.user();
      const product = (await orders.product({ stock: 1 })).id;
      await orders.addToCart(member, product, 1);
      const order = (await orders.call('POST', '/v1/users/me/orders', { token: member.token })).body;
      const change = (token: string, status: string, version: number) =>
        orders.call('PATCH', `/v1/orders/${order.id}`, { token, body: { status, version } });
      await change(orders.admin.token, 'paid', 1);
      expect((await change(member.token, 'shipped', 2)).status).toBe(403);
      await change(orders.admin.token, 'shipped', 2);
      expect((await change(member.token, 'cancelled', 3)).status).toBe(422);
      expect((await orders.call('GET', `/v1/orders/${order.id}`, { token: member.token })).body.status).toBe(
        'shipped',
      );
    });

    it('refuses a stale version with 409 VERSION_CONFLICT, from the body or If-Match', async () => {
      const order = await place(bob, 1);
      const paid = await orders.call('PATCH', `/v1/orders/${order.id}`, {
        token: orders.admin.token,
        headers: { 'if-match': '"1"' },
        body: { status: 'paid' },
      });
      expect(paid.status).toBe(200);
      const staleBody = await orders.call('PATCH', `/v1/orders/${order.id}`, {
        token: orders.admin.token,
        body: { status: 'shipped', version: 1 },
      });
      const staleHeader = await orders.call('PATCH', `/v1/orders/${order.id}`, {
        token: orders.admin.token,
        headers: { 'if-match': '"1"' },
        body: { status: 'shipped' },
      });
      expect([staleBody.status, staleHeader.status]).toEqual([409, 409]);
      expect(staleBody.body.error.code).toBe('VERSION_CONFLICT');
    });

    it('needs a version: none is a 400, a body and If-Match that disagree are a 409', async () => {
      const order = await place(bob, 1);
      const none = await orders.call('PATCH', `/v1/orders/${order.id}`, {
        token: orders.admin.token,
        body: { status: 'paid' },
      });
      const disagree = await orders.call('PATCH', `/v1/orders/${order.id}`, {
        token: orders.admin.token,
        headers: { 'if-match': '"2"' },
        body: { status: 'paid', version: 1 },
      });
      const garbage = await orders.call('PATCH', `/v1/orders/${order.id}`, {
        token: orders.admin.token,
        headers: { 'if-match': 'W/"abc"' },
        body: { status: 'paid' },
      });
      expect([none.status, disagree.status, garbage.status]).toEqual([400, 409, 400]);
      expect(disagree.body.error.code).toBe('VERSION_CONFLICT');
    });

    it('applies one of two concurrent changes made from the same version: one 200, one 409', async () => {
      const order = await place(bob, 1);
      const replies = await Promise.all(
        (['paid', 'cancelled'] as const).map((status) =>
          orders.call('PATCH', `/v1/orders/${order.id}`, {
            token: orders.admin.token,
            body: { status, version: 1 },
          }),
        ),
      );
      expect(replies.map((reply) => reply.status).sort()).toEqual([200, 409]);
      const read = await orders.call('GET', `/v1/orders/${order.id}`, { token: bob.token });
      expect(read.body.version).toBe(2);
      expect(read.body.status).toBe(replies.find((reply) => reply.status === 200)?.body.status);
    });

    it("answers 404 to a member changing someone else's order", async () => {
      const reply = await orders.call('PATCH', `/v1/orders/${bobOrder}`, {
        token: alice.token,
        body: { status: 'cancelled', version: 1 },
      });
      expect(reply.status).toBe(404);
    });

    it('refuses an unknown status with 400', async () => {
      const reply = await orders.call('PATCH', `/v1/orders/${bobOrder}`, {
        token: orders.admin.token,
        body: { status: 'lost', version: 1 },
      });
      expect(reply.status).toBe(400);
    });
  });
});
