import { randomUUID } from 'node:crypto';
import { mode } from '@armature/testing/databases';
import { startSystem, type TestSystem } from '@armature/testing/system';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, OwnNatsServer } from '../../packages/platform/src/events/test-support.ts';

/**
 * NATS stopped under traffic, on a nats-server of this suite's own (the machine's is never touched):
 * registrations, checkouts and deletions keep succeeding, and once NATS is back every event arrives,
 * none lost and none applied twice. Effects are counted, not messages: cancelled orders, returned
 * stock, and the consumer's own count of events handled (duplicates are counted apart).
 */
const admin = { email: `outage-admin-${randomUUID()}@example.com`, password: 'outage admin password' };

let nats: OwnNatsServer;
let system: TestSystem;
let adminToken: string;

/** A JSON request through the gateway: its status and parsed body. */
const call = (...args: Parameters<TestSystem['call']>) => system.call(...args);

/** A counter of the orders service's `/metrics`, summed over the series matching `labels`. */
async function ordersCounter(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${system.services.orders.url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const matches = Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`));
    if (matches) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

const handled = (type: string) =>
  ordersCounter('events_consumed_total', { consumer: 'orders', type, outcome: 'handled' });

beforeAll(async () => {
  nats = await OwnNatsServer.create();
  system = await startSystem({
    NATS_URL: nats.url,
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
  });
  const login = await call('POST', '/v1/auth/login', { body: admin });
  expect(login.status).toBe(200);
  adminToken = login.body.accessToken;
}, 120_000);

afterAll(async () => {
  await system?.close();
  await nats?.destroy();
});

describe(`NATS stopped under traffic (${mode})`, () => {
  it('keeps registrations and checkouts succeeding, and delivers every event once NATS is back', {
    timeout: 180_000,
  }, async () => {
    // The admin's own user.created went out at start.
    await eventually(
      'the bootstrap admin to reach the orders service',
      async () => (await handled('user.created')) === 1,
      60_000,
    );
    const created = await call('POST', '/v2/products', {
      token: adminToken,
      body: { name: 'Outage mug', price: { amount: 900, currency: 'USD' }, stock: 100 },
    });
    expect(created.status).toBe(201);
    const productId = created.body.id;

    await nats.stop();

    const customers: Array<{ id: string; token: string; order: string }> = [];
    for (let index = 0; index < 6; index++) {
      const email = `outage-${index}-${randomUUID()}@example.com`;
      const password = 'outage member password';
      const registered = await call('POST', '/v1/users', {
        body: { email, name: `Customer ${index}`, password },
      });
      expect(registered.status).toBe(201);
      const login = await call('POST', '/v1/auth/login', { body: { email, password } });
      expect(login.status).toBe(200);
      const token = login.body.accessToken;
      const put = await call('PUT', `/v1/users/me/cart/items/${productId}`, { token, body: { quantity: 2 } });
      expect(put.status).toBe(200);
      const placed = await call('POST', '/v1/users/me/orders', { token, body: {} });
      expect(placed.status).toBe(201);
      customers.push({ id: registered.body.id, token, order: placed.body.id });
    }
    const leaving = customers.slice(0, 3);
    for (const customer of leaving) {
      expect((await call('DELETE', '/v1/users/me', { token: customer.token })).status).toBe(204);
    }
    expect((await call('GET', `/v2/products/${productId}`)).body.stock).toBe(88);
    // The events wait: nothing reached the orders service, and no order was cancelled.
    const health = await fetch(`${system.services.users.url}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { checks: { bus: { status: string } } }).checks.bus.status).toBe('down');
    expect(await handled('user.created')).toBe(1);
    const stillPending = await call('GET', `/v1/orders/${leaving[0]!.order}`, { token: adminToken });
    expect(stillPending.body.status).toBe('pending');

    await nats.start();

    await eventually(
      'every user.created and user.deleted to be handled',
      async () =>
        (await handled('user.created')) === 7 && (await handled('user.deleted')) === 3 ? true : undefined,
      60_000,
    );
    for (const customer of customers) {
      const order = await call('GET', `/v1/orders/${customer.order}`, { token: adminToken });
      expect(order.body.status).toBe(leaving.includes(customer) ? 'cancelled' : 'pending');
      const cancellations = await call(
        'GET',
        `/v1/events?type=order.cancelled&aggregateId=${customer.order}`,
        {
          token: adminToken,
        },
      );
      expect(cancellations.body.data).toHaveLength(leaving.includes(customer) ? 1 : 0);
    }
    expect((await call('GET', `/v2/products/${productId}`)).body.stock).toBe(94);
    // Handled once each: a second application would have been counted here, not as a duplicate.
    expect(await handled('user.created')).toBe(7);
    expect(await handled('user.deleted')).toBe(3);
    expect(await ordersCounter('events_dead_letters_total', { consumer: 'orders' })).toBe(0);
  });
});
