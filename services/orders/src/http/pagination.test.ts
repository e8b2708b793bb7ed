import { mode } from '@armature/testing/databases';
import type { TestUser } from '@armature/testing/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestOrders, type TestOrders } from '../test-support/orders-service.ts';

/** 1,000 orders from ten users, with totals 0.01 … 10.00, one cent apart. */
const ORDERS = 1000;
const USERS = 10;

interface Listed {
  id: string;
  total: number;
  createdAt: string;
}

describe(`keyset pagination over ${ORDERS} orders (${mode})`, () => {
  let orders: TestOrders;
  let penny: string;
  let latecomer: TestUser;
  const seeded = new Set<string>();

  const placeOrder = async (user: TestUser, cents: number) => {
    await orders.addToCart(user, penny, cents);
    const reply = await orders.call('POST', '/v1/users/me/orders', { token: user.token });
    if (reply.status !== 201) throw new Error(JSON.stringify(reply.body));
    return reply.body.id as string;
  };

  beforeAll(async () => {
    orders = await startTestOrders('orders-pagination');
    penny = (await orders.product({ name: 'Penny', amount: 1, stock: 10_000_000 })).id;
    latecomer = await orders.minter.user();
    const users = await Promise.all(Array.from({ length: USERS }, () => orders.minter.user()));
    // Each user places every tenth order, one after another; the users run side by side.
    await Promise.all(
      users.map(async (user, index) => {
        for (let cents = index + 1; cents <= ORDERS; cents += USERS)
          seeded.add(await placeOrder(user, cents));
      }),
    );
  }, 300_000);
  afterAll(() => orders.close());

  /** Follows `nextCursor` to the end, placing a new order before each page after the first. */
  const walk = async (query: string) => {
    const seen: Listed[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      if (pages > 0) await placeOrder(latecomer, 1 + (pages % 900));
      const path: string = `/v1/orders?limit=37&${query}${cursor ? `&cursor=${cursor}` : ''}`;
      const reply = await orders.call('GET', path, { token: orders.admin.token });
      expect(reply.status).toBe(200);
      seen.push(...reply.body.data);
      cursor = reply.body.pagination.nextCursor;
      pages += 1;
    } while (cursor);
    return seen;
  };

  const expectEachSeededOnce = (seen: Listed[]) => {
    const ids = seen.map((order) => order.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => seeded.has(id))).toHaveLength(ORDERS);
  };

  it('returns every order exactly once, newest first, while new orders arrive between pages', async () => {
    const seen = await walk('sort=-createdAt');
    expectEachSeededOnce(seen);
    // Orders placed during the walk are newer than the first page, so none of them is returned.
    expect(seen).toHaveLength(ORDERS);
    const times = seen.map((order) => Date.parse(order.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it('returns every order exactly once in total order, while new orders arrive between pages', async () => {
    const seen = await walk('sort=%2Btotal');
    expectEachSeededOnce(seen);
    const totals = seen.map((order) => order.total);
    expect(totals).toEqual([...totals].sort((a, b) => a - b));
    const seededTotals = seen
      .filter((order) => seeded.has(order.id))
      .map((order) => Math.round(order.total * 100));
    expect(seededTotals).toEqual(Array.from({ length: ORDERS }, (_, index) => index + 1));
  });

  it('returns every order exactly once over a mixed-direction sort (-createdAt,+total)', async () => {
    const seen = await walk('sort=-createdAt,+total');
    expectEachSeededOnce(seen);
  });

  it('refuses a tampered cursor with 400 INVALID_CURSOR', async () => {
    const first = await orders.call('GET', '/v1/orders?limit=5', { token: orders.admin.token });
    const cursor: string = first.body.pagination.nextCursor;
    // Re-sign nothing: change one character of the payload, which the signature no longer matches.
    const tampered = (cursor[0] === 'e' ? 'f' : 'e') + cursor.slice(1);
    const reply = await orders.call('GET', `/v1/orders?limit=5&cursor=${tampered}`, {
      token: orders.admin.token,
    });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({ code: 'INVALID_CURSOR', details: [{ field: 'cursor' }] });
    const garbage = await orders.call('GET', '/v1/orders?cursor=not-a-cursor', { token: orders.admin.token });
    expect(garbage.status).toBe(400);
  });
});
