import { randomBytes } from 'node:crypto';
import { deleteRedisPrefix } from '@armature/platform/cache/testing';
import type { TestUser } from '@armature/testing/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestOrders, type TestOrders } from '../test-support/orders-service.ts';

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefixes: string[] = [];
/** Redis under a prefix no other suite uses; its keys are deleted at the end. */
const redisEnv = () => {
  const prefix = `test:orders:${randomBytes(6).toString('hex')}:`;
  prefixes.push(prefix);
  return { REDIS_URL: redisUrl, CACHE_KEY_PREFIX: prefix };
};
afterAll(async () => {
  for (const prefix of prefixes) await deleteRedisPrefix(redisUrl, prefix);
});

/** The service's own count of cache misses, each one loader call (one database read), from /metrics. */
async function misses(orders: TestOrders): Promise<number> {
  const text = await (await fetch(`${orders.url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((row) => row.startsWith('cache_misses_total{') && row.includes('cache="orders"'));
  return Number(line?.split(' ').at(-1) ?? Number.NaN);
}

describe.each([
  ['in-process', () => ({})],
  ['Redis', redisEnv],
])('orders service reads from the cache (%s)', (_mode, env) => {
  let orders: TestOrders;
  let member: TestUser;
  beforeAll(async () => {
    orders = await startTestOrders('orders-cache', env());
    member = await orders.minter.user();
  });
  afterAll(() => orders?.close());

  it('serves a product MISS then HIT, in each version’s money, with 304 for its ETag', async () => {
    const product = await orders.product({ name: 'Kettle', amount: 2599, stock: 7 });
    const first = await orders.call('GET', `/v1/products/${product.id}`);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(first.body).toMatchObject({ name: 'Kettle', price: 25.99, stock: 7 });
    const again = await orders.call('GET', `/v1/products/${product.id}`);
    expect(again.headers.get('x-cache')).toBe('HIT');
    expect(again.body).toEqual(first.body);

    const v2 = await orders.call('GET', `/v2/products/${product.id}`);
    expect(v2.body.price).toEqual({ amount: 2599, currency: 'USD' });
    expect(v2.headers.get('etag')).not.toBe(first.headers.get('etag'));

    const unchanged = await orders.call('GET', `/v1/products/${product.id}`, {
      headers: { 'if-none-match': first.headers.get('etag')! },
    });
    expect(unchanged.status).toBe(304);
    expect(unchanged.body).toBeUndefined();
  });

  it('serves a product’s new price at once after PATCH, and 404 after DELETE', async () => {
    const product = await orders.product({ amount: 1000 });
    const path = `/v2/products/${product.id}`;
    await orders.call('GET', path);
    expect((await orders.call('GET', path)).headers.get('x-cache')).toBe('HIT');
    const patched = await orders.call('PATCH', path, {
      token: orders.admin.token,
      body: { price: { amount: 1250, currency: 'USD' } },
    });
    expect(patched.status).toBe(200);
    const after = await orders.call('GET', `/v1/products/${product.id}`);
    expect(after.body.price).toBe(12.5);
    expect((await orders.call('GET', path)).body.price.amount).toBe(1250);
    expect((await orders.call('DELETE', path, { token: orders.admin.token })).status).toBe(204);
    expect((await orders.call('GET', path)).status).toBe(404);
  });

  it('shows a checkout at once: the product’s stock and the user’s order list', async () => {
    const buyer = await orders.minter.user();
    const product = await orders.product({ stock: 10 });
    const productPath = `/v1/products/${product.id}`;
    const listPath = '/v1/users/me/orders?limit=5';
    await orders.call('GET', productPath);
    const before = await orders.call('GET', listPath, { token: buyer.token });
    expect(before.body.data).toEqual([]);
    expect((await orders.call('GET', listPath, { token: buyer.token })).headers.get('x-cache')).toBe('HIT');

    await orders.addToCart(buyer, product.id, 3);
    const placed = await orders.call('POST', '/v1/users/me/orders', { token: buyer.token });
    expect(placed.status).toBe(201);
    expect((await orders.call('GET', productPath)).body.stock).toBe(7);
    const after = await orders.call('GET', listPath, { token: buyer.token });
    expect(after.headers.get('x-cache')).toBe('MISS');
    expect(after.body.data.map((order: { id: string }) => order.id)).toEqual([placed.body.id]);

    const cancelled = await orders.call('PATCH', `/v1/orders/${placed.body.id}`, {
      token: buyer.token,
      body: { status: 'cancelled', version: placed.body.version },
    });
    expect(cancelled.status).toBe(200);
    expect((await orders.call('GET', productPath)).body.stock).toBe(10);
    const listed = await orders.call('GET', `/v1/users/${buyer.id}/orders?limit=5`, { token: buyer.token });
    expect(listed.body.data[0]).toMatchObject({ id: placed.body.id, status: 'cancelled' });
  });

  it('caches each page of a list apart, and 304s a page the client holds', async () => {
    const buyer = await orders.minter.user();
    const product = await orders.product({ stock: 100 });
    for (let i = 0; i < 3; i++) {
      await orders.addToCart(buyer, product.id, 1);
      expect((await orders.call('POST', '/v1/users/me/orders', { token: buyer.token })).status).toBe(201);
    }
    const first = await orders.call('GET', '/v2/users/me/orders?limit=2', { token: buyer.token });
    const second = await orders.call(
      'GET',
      `/v2/users/me/orders?limit=2&cursor=${first.body.pagination.nextCursor}`,
      {
        token: buyer.token,
      },
    );
    expect(first.body.data).toHaveLength(2);
    expect(second.body.data).toHaveLength(1);
    expect(second.headers.get('x-cache')).toBe('MISS');
    const held = await orders.call('GET', '/v2/users/me/orders?limit=2', {
      token: buyer.token,
      headers: { 'if-none-match': first.headers.get('etag')! },
    });
    expect(held.status).toBe(304);
    expect(held.headers.get('x-cache')).toBe('HIT');
  });

  it('still checks access on every request: a cached list is no other member’s to read', async () => {
    const owner = await orders.minter.user();
    const path = `/v1/users/${owner.id}/orders`;
    expect((await orders.call('GET', path, { token: owner.token })).status).toBe(200);
    expect((await orders.call('GET', path, { token: owner.token })).headers.get('x-cache')).toBe('HIT');
    expect((await orders.call('GET', path, { token: member.token })).status).toBe(403);
    expect((await orders.call('GET', path)).status).toBe(401);
    const byAdmin = await orders.call('GET', path, { token: orders.admin.token });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.headers.get('x-cache')).toBe('HIT');
  });

  it('reads the database once for 100 concurrent GETs of a product not yet cached', async () => {
    const product = await orders.product();
    const before = await misses(orders);
    const replies = await Promise.all(
      Array.from({ length: 100 }, () => orders.call('GET', `/v1/products/${product.id}`)),
    );
    expect(replies.map((reply) => reply.status)).toEqual(Array(100).fill(200));
    expect((await misses(orders)) - before).toBe(1);
  });
});
