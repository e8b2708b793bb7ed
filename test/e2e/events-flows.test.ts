import { randomUUID } from 'node:crypto';
import { mode, natsUrl } from '@armature/testing/databases';
import { type Reply, startSystem, type TestSystem } from '@armature/testing/system';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../packages/platform/src/events/test-support.ts';

/**
 * The cross-service flows of the domain events, through the gateway: on the in-process bus, or on
 * NATS JetStream when `TEST_NATS_URL` is set.
 */
const transport = natsUrl ? 'NATS JetStream' : 'in-process bus';
const admin = { email: `events-admin-${randomUUID()}@example.com`, password: 'events admin password' };

let system: TestSystem;
let adminToken: string;

/** A JSON request through the gateway: its status and parsed body. */
const call = (...args: Parameters<TestSystem['call']>) => system.call(...args);

async function member(): Promise<{ id: string; token: string }> {
  const email = `events-${randomUUID()}@example.com`;
  const password = 'member password 1';
  const created = await call('POST', '/v1/users', { body: { email, name: 'Event Tester', password } });
  expect(created.status).toBe(201);
  const login = await call('POST', '/v1/auth/login', { body: { email, password } });
  expect(login.status).toBe(200);
  return { id: created.body.id, token: login.body.accessToken };
}

async function product(stock: number): Promise<string> {
  const created = await call('POST', '/v2/products', {
    token: adminToken,
    body: { name: `Cup ${randomUUID().slice(0, 8)}`, price: { amount: 1250, currency: 'USD' }, stock },
  });
  expect(created.status).toBe(201);
  return created.body.id;
}

async function order(
  user: { id: string; token: string },
  productId: string,
  quantity: number,
): Promise<string> {
  const put = await call('PUT', `/v1/users/me/cart/items/${productId}`, {
    token: user.token,
    body: { quantity },
  });
  expect(put.status).toBe(200);
  const placed = await call('POST', '/v1/users/me/orders', { token: user.token, body: {} });
  expect(placed.status).toBe(201);
  return placed.body.id;
}

async function setStatus(orderId: string, status: string): Promise<void> {
  const { version } = (await call('GET', `/v1/orders/${orderId}`, { token: adminToken })).body;
  const changed = await call('PATCH', `/v1/orders/${orderId}`, {
    token: adminToken,
    body: { status, version },
  });
  expect(changed.status).toBe(200);
}

const stockOf = async (productId: string) =>
  (await call('GET', `/v2/products/${productId}`)).body.stock as number;
const statusOf = async (orderId: string) =>
  (await call('GET', `/v1/orders/${orderId}`, { token: adminToken })).body.status as string;
const events = async (query: string) => call('GET', `/v1/events?${query}`, { token: adminToken });

beforeAll(async () => {
  system = await startSystem({ ADMIN_EMAIL: admin.email, ADMIN_PASSWORD: admin.password });
  const login = await call('POST', '/v1/auth/login', { body: admin });
  expect(login.status).toBe(200);
  adminToken = login.body.accessToken;
});
afterAll(() => system?.close());

describe(`domain events between the services (${mode}, ${transport})`, () => {
  it('deleting a user cancels their pending and paid orders, returns the stock and empties the cart', async () => {
    const productId = await product(20);
    const customer = await member();
    const pending = await order(customer, productId, 1);
    const paid = await order(customer, productId, 2);
    await setStatus(paid, 'paid');
    const shipped = await order(customer, productId, 3);
    await setStatus(shipped, 'paid');
    await setStatus(shipped, 'shipped');
    const put = await call('PUT', `/v1/users/me/cart/items/${productId}`, {
      token: customer.token,
      body: { quantity: 4 },
    });
    expect(put.status).toBe(200);
    expect(await stockOf(productId)).toBe(14);

    expect((await call('DELETE', '/v1/users/me', { token: customer.token })).status).toBe(204);

    await eventually(
      'the open orders to be cancelled',
      async () =>
        (await statusOf(pending)) === 'cancelled' && (await statusOf(paid)) === 'cancelled'
          ? true
          : undefined,
      20_000,
    );
    expect(await statusOf(shipped)).toBe('shipped');
    expect(await stockOf(productId)).toBe(17);
    const cart = await call('GET', `/v1/users/${customer.id}/cart`, { token: adminToken });
    expect(cart.status).toBe(200);
    expect(cart.body.items).toEqual([]);

    // One cancellation each, said so by the orders service, with what went back to stock.
    for (const [orderId, previousStatus, quantity] of [
      [pending, 'pending', 1],
      [paid, 'paid', 2],
    ] as const) {
      const cancelled = await events(`type=order.cancelled&aggregateId=${orderId}`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.data).toHaveLength(1);
      expect(cancelled.body.data[0].data).toMatchObject({
        orderId,
        userId: customer.id,
        previousStatus,
        reason: 'user_deleted',
        restocked: [{ productId, quantity }],
      });
    }
    expect((await events(`type=order.cancelled&aggregateId=${shipped}`)).body.data).toEqual([]);
  });

  it('refuses a checkout for a deleted user once the deletion has arrived', async () => {
    const productId = await product(5);
    const customer = await member();
    await order(customer, productId, 1);
    expect((await call('DELETE', `/v1/users/${customer.id}`, { token: adminToken })).status).toBe(204);
    await eventually(
      'the deletion to reach the orders service',
      async () =>
        (await events(`type=order.cancelled&limit=100`)).body.data.some(
          (event: { data: { userId: string } }) => event.data.userId === customer.id,
        ),
      20_000,
    );
    // An admin checking out on their behalf: the users service says the user is gone.
    const refused = await call('POST', `/v1/users/${customer.id}/orders`, { token: adminToken, body: {} });
    expect(refused.status).toBe(404);
  });

  it('lets admins read each service’s recent events through the gateway, the filter naming the source', async () => {
    const customer = await member();
    const renamed = await call('PATCH', '/v1/users/me', { token: customer.token, body: { name: 'Renamed' } });
    expect(renamed.status).toBe(200);

    const history = await events(`aggregateId=${customer.id}`);
    expect(history.status).toBe(200);
    expect(history.body.data.map((event: { type: string }) => event.type)).toEqual([
      'user.updated',
      'user.created',
    ]);
    const [updated, created] = history.body.data;
    expect(created).toMatchObject({
      id: expect.stringMatching(/^evt_/),
      aggregateId: customer.id,
      version: 1,
      data: { userId: customer.id, name: 'Event Tester', role: 'member', version: 1 },
    });
    expect(updated.data).toMatchObject({ name: 'Renamed', changed: ['name'], version: 2 });
    expect(created.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/);

    // Keyset pages of one type, newest first, no event twice.
    const seen = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Reply = await events(`type=user.created&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      for (const event of page.body.data) {
        expect(event.type).toBe('user.created');
        expect(seen.has(event.id)).toBe(false);
        seen.add(event.id);
      }
      cursor = page.body.pagination.nextCursor;
      pages++;
    } while (cursor && pages < 50);
    expect(seen.size).toBeGreaterThanOrEqual(2);

    const orders = await events('type=order.created&page=1&limit=5');
    expect(orders.status).toBe(200);
    expect(orders.body.data.every((event: { type: string }) => event.type === 'order.created')).toBe(true);
    expect(orders.body.data[0].data.total).toEqual({ amount: expect.any(Number), currency: 'USD' });

    const unnamed = await events('limit=5');
    expect(unnamed.status).toBe(400);
    expect(unnamed.body.error.code).toBe('VALIDATION_ERROR');
    expect((await call('GET', '/v1/events?type=user.created', { token: customer.token })).status).toBe(403);
    expect((await call('GET', '/v1/events?type=user.created')).status).toBe(401);
  });
});
