import { randomUUID } from 'node:crypto';
import { type Simulator, startSimulator } from '@armature/payments';
import { startSystem, type TestSystem } from '@armature/testing/system';
import { expect } from 'vitest';
import { eventually } from '../../packages/platform/src/events/test-support.ts';

/**
 * A shop for the payment suites: the whole system, with the provider simulator beside it (as in
 * scale-out) sending its webhooks through the gateway, and helpers to buy with a payment method.
 */
export const secret = 'payments-test-webhook-secret';
const admin = { email: `payments-admin-${randomUUID()}@example.com`, password: 'payments admin password' };

export interface Shop {
  system: TestSystem;
  simulator: Simulator;
  adminToken: string;
  close(): Promise<void>;
}

/** A system whose payments service talks to a simulator of its own, with the given settings. */
export async function startShop(
  env: Record<string, string> = {},
  confirmDelayMs = 300,
  slowMs = 3000,
): Promise<Shop> {
  let gatewayUrl = '';
  const simulator = await startSimulator({
    webhookSecret: secret,
    webhookUrl: () => (gatewayUrl ? `${gatewayUrl}/v1/payments/webhooks` : undefined),
    confirmDelayMs,
    slowMs,
  });
  const system = await startSystem({
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    PAYMENTS_PROVIDER_URL: simulator.url,
    PAYMENTS_WEBHOOK_SECRET: secret,
    PAYMENTS_PROVIDER_TIMEOUT_MS: '1000',
    PAYMENTS_WORKER_INTERVAL_MS: '200',
    ...env,
  });
  gatewayUrl = system.url;
  const login = await system.call('POST', '/v1/auth/login', { body: admin });
  return {
    system,
    simulator,
    adminToken: login.body.accessToken,
    async close() {
      await system.close();
      await simulator.close();
    },
  };
}

export async function member(shop: Shop): Promise<{ id: string; token: string }> {
  const email = `payer-${randomUUID()}@example.com`;
  const password = 'member password 1';
  const created = await shop.system.call('POST', '/v1/users', { body: { email, name: 'Payer', password } });
  expect(created.status).toBe(201);
  const login = await shop.system.call('POST', '/v1/auth/login', { body: { email, password } });
  return { id: created.body.id, token: login.body.accessToken };
}

export async function product(shop: Shop, stock: number, amount = 1250): Promise<string> {
  const created = await shop.system.call('POST', '/v2/products', {
    token: shop.adminToken,
    body: { name: `Cup ${randomUUID().slice(0, 8)}`, price: { amount, currency: 'USD' }, stock },
  });
  expect(created.status).toBe(201);
  return created.body.id;
}

/** Puts `quantity` of a product in the cart and checks out with a payment method: the order (v2). */
export async function order(
  shop: Shop,
  buyer: { token: string },
  productId: string,
  paymentMethod: string | undefined,
  quantity = 1,
) {
  const put = await shop.system.call('PUT', `/v2/users/me/cart/items/${productId}`, {
    token: buyer.token,
    body: { quantity },
  });
  expect(put.status).toBe(200);
  const placed = await shop.system.call('POST', '/v2/users/me/orders', {
    token: buyer.token,
    body: paymentMethod ? { paymentMethod } : {},
  });
  expect(placed.status).toBe(201);
  return placed.body;
}

export async function orderOf(shop: Shop, token: string, id: string) {
  const reply = await shop.system.call('GET', `/v2/orders/${id}`, { token });
  expect(reply.status).toBe(200);
  return reply.body;
}

/** Waits until the order's payment reaches `status` (and the order `orderStatus`); returns the order. */
export async function settled(shop: Shop, token: string, id: string, status: string, orderStatus: string) {
  let last: { status: string; cancelReason: string | null; payment: { status: string } | null } | undefined;
  await eventually(
    `order ${id}: payment ${status}, order ${orderStatus}`,
    async () => {
      last = await orderOf(shop, token, id);
      return last?.payment?.status === status && last.status === orderStatus ? last : undefined;
    },
    20_000,
  );
  return last!;
}

export async function paymentOf(shop: Shop, token: string, orderId: string) {
  const reply = await shop.system.call('GET', `/v2/payments?orderId=${orderId}`, { token });
  expect(reply.status).toBe(200);
  expect(reply.body.data).toHaveLength(1);
  return reply.body.data[0];
}

export const stockOf = async (shop: Shop, id: string) =>
  (await shop.system.call('GET', `/v2/products/${id}`)).body.stock as number;

export const intentOf = (shop: Shop, paymentId: string) =>
  [...shop.simulator.intents.values()].filter((intent) => intent.reference === paymentId);
