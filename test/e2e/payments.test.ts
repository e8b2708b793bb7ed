import { randomUUID } from 'node:crypto';
import { type Simulator, startSimulator } from '@armature/payments';
import { mode } from '@armature/testing/databases';
import { startSystem, type TestSystem } from '@armature/testing/system';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../packages/platform/src/events/test-support.ts';
import { signWebhook } from '../../services/payments/src/provider/webhook-signature.ts';

/**
 * The payment saga through the gateway: each test payment method from checkout to its final state,
 * cancellation and refund, signed webhooks. The provider simulator runs beside the system (as in
 * scale-out) and sends its webhooks through the gateway; its record of every intent is what
 * "charged once" is checked against.
 */
const secret = 'payments-test-webhook-secret';
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

async function paymentOf(shop: Shop, token: string, orderId: string) {
  const reply = await shop.system.call('GET', `/v2/payments?orderId=${orderId}`, { token });
  expect(reply.status).toBe(200);
  expect(reply.body.data).toHaveLength(1);
  return reply.body.data[0];
}

const stockOf = async (shop: Shop, id: string) =>
  (await shop.system.call('GET', `/v2/products/${id}`)).body.stock as number;

const intentOf = (shop: Shop, paymentId: string) =>
  [...shop.simulator.intents.values()].filter((intent) => intent.reference === paymentId);

describe(`payments: the order saga through the gateway (${mode})`, () => {
  let shop: Shop;
  beforeAll(async () => {
    shop = await startShop();
  });
  afterAll(async () => {
    await shop?.close();
  });

  it('pm_card_visa: authorized, the order paid, then captured once; each step in /v1/events', async () => {
    const buyer = await member(shop);
    const placed = await order(shop, buyer, await product(shop, 5), 'pm_card_visa', 2);
    expect(placed.payment).toEqual({ method: 'pm_card_visa', status: 'pending', failureReason: null });
    const paid = await settled(shop, buyer.token, placed.id, 'captured', 'paid');
    expect(paid.status).toBe('paid');
    const payment = await paymentOf(shop, buyer.token, placed.id);
    expect(payment).toMatchObject({
      status: 'captured',
      amount: { amount: 2500, currency: 'USD' },
      method: 'pm_card_visa',
    });
    const [intent] = intentOf(shop, payment.id);
    expect(intent).toMatchObject({
      status: 'succeeded',
      authorizations: 1,
      captures: 1,
      amountCaptured: 2500,
    });
    const events = await shop.system.call('GET', `/v1/events?aggregateId=${payment.id}`, {
      token: shop.adminToken,
    });
    expect(events.body.data.map((event: { type: string }) => event.type).sort()).toEqual([
      'payment.authorized',
      'payment.captured',
    ]);
    const single = await shop.system.call('GET', `/v2/payments/${payment.id}`, { token: buyer.token });
    expect(single.body).toMatchObject({ id: payment.id, status: 'captured' });
    const stranger = await member(shop);
    expect(
      (await shop.system.call('GET', `/v2/payments/${payment.id}`, { token: stranger.token })).status,
    ).toBe(404);
  });

  it.each([
    ['pm_card_chargeDeclined', 'card_declined'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds'],
  ])(
    '%s: the payment fails, the order is cancelled with the reason and its stock returned',
    async (method, reason) => {
      const buyer = await member(shop);
      const item = await product(shop, 3);
      const placed = await order(shop, buyer, item, method, 2);
      expect(await stockOf(shop, item)).toBe(1);
      const cancelled = await settled(shop, buyer.token, placed.id, 'failed', 'cancelled');
      expect(cancelled).toMatchObject({ cancelReason: 'payment_failed', payment: { failureReason: reason } });
      expect(await stockOf(shop, item)).toBe(3);
      const payment = await paymentOf(shop, buyer.token, placed.id);
      expect(payment).toMatchObject({ status: 'failed', failureReason: reason });
      expect(intentOf(shop, payment.id).every((intent) => intent.captures === 0)).toBe(true);
    },
  );

  it('pm_card_authenticationRequired: waits for the signed webhook, then paid and captured', async () => {
    const buyer = await member(shop);
    const placed = await order(shop, buyer, await product(shop, 2), 'pm_card_authenticationRequired');
    await settled(shop, buyer.token, placed.id, 'captured', 'paid');
    const payment = await paymentOf(shop, buyer.token, placed.id);
    expect(intentOf(shop, payment.id)[0]).toMatchObject({ authorizations: 1, captures: 1 });
  });

  it('pm_card_providerTimeout: the call times out, is retried with the same key, and charges once', async () => {
    const buyer = await member(shop);
    const placed = await order(shop, buyer, await product(shop, 2), 'pm_card_providerTimeout');
    await settled(shop, buyer.token, placed.id, 'captured', 'paid');
    const payment = await paymentOf(shop, buyer.token, placed.id);
    const intents = intentOf(shop, payment.id);
    expect(intents).toHaveLength(1);
    expect(intents[0]).toMatchObject({ authorizations: 1, captures: 1 });
  });

  it('no payment method: the order waits for payment by other means, as before', async () => {
    const buyer = await member(shop);
    const placed = await order(shop, buyer, await product(shop, 2), undefined);
    expect(placed).toMatchObject({ status: 'pending', payment: null, cancelReason: null });
    const payments = await shop.system.call('GET', `/v2/payments?orderId=${placed.id}`, {
      token: buyer.token,
    });
    expect(payments.body.data).toEqual([]);
  });

  it('cancelling a paid order refunds it once; the stock comes back', async () => {
    const buyer = await member(shop);
    const item = await product(shop, 4);
    const placed = await order(shop, buyer, item, 'pm_card_visa', 3);
    const paid = await settled(shop, buyer.token, placed.id, 'captured', 'paid');
    const cancel = await shop.system.call('PATCH', `/v2/orders/${placed.id}`, {
      token: buyer.token,
      body: { status: 'cancelled', version: (paid as unknown as { version: number }).version },
    });
    expect(cancel.status).toBe(200);
    await settled(shop, buyer.token, placed.id, 'refunded', 'cancelled');
    const payment = await paymentOf(shop, buyer.token, placed.id);
    expect(payment).toMatchObject({ status: 'refunded', refunded: { amount: 3750, currency: 'USD' } });
    expect(intentOf(shop, payment.id)[0]).toMatchObject({ captures: 1, refunds: 1, amountRefunded: 3750 });
    expect(await stockOf(shop, item)).toBe(4);
  });

  describe('the webhook', () => {
    const send = (body: string, signature: string | undefined) =>
      shop.system.fetch('/v1/payments/webhooks', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(signature ? { 'armature-signature': signature } : {}),
        },
        body,
      });
    const event = (providerPaymentId: string, id = `evt_${randomUUID().replaceAll('-', '')}`) =>
      JSON.stringify({
        id,
        type: 'payment_intent.amount_capturable_updated',
        created: Math.floor(Date.now() / 1000),
        data: { object: { id: providerPaymentId, status: 'requires_capture' } },
      });

    it('refuses a bad signature, an old timestamp and a replayed event id; nothing changes', async () => {
      const buyer = await member(shop);
      const placed = await order(shop, buyer, await product(shop, 2), 'pm_card_visa');
      await settled(shop, buyer.token, placed.id, 'captured', 'paid');
      const payment = await paymentOf(shop, buyer.token, placed.id);
      const [intent] = intentOf(shop, payment.id);
      const body = event(intent!.id);

      const forged = await send(body, signWebhook(body, 'not-the-shared-secret-at-all'));
      expect(forged.status).toBe(400);
      expect(((await forged.json()) as { error: { code: string } }).error.code).toBe(
        'INVALID_WEBHOOK_SIGNATURE',
      );
      expect((await send(body, undefined)).status).toBe(400);
      const old = await send(body, signWebhook(body, secret, Date.now() - 3_600_000));
      expect(old.status).toBe(400);
      const tampered = await send(body.replace('requires_capture', 'succeeded'), signWebhook(body, secret));
      expect(tampered.status).toBe(400);

      const first = await send(body, signWebhook(body, secret));
      expect(first.status).toBe(204);
      const replay = await send(body, signWebhook(body, secret));
      expect(replay.status).toBe(409);
      expect(((await replay.json()) as { error: { code: string } }).error.code).toBe('WEBHOOK_REPLAYED');
      // A captured payment stays captured: the lifecycle has no way back to authorized.
      expect(await paymentOf(shop, buyer.token, placed.id)).toMatchObject({ status: 'captured' });
    });
  });
});

describe(`payments: orders not paid in time (${mode})`, () => {
  let shop: Shop;
  beforeAll(async () => {
    // Orders expire after a second; a confirmation takes a minute; a slow answer comes after 4 s.
    shop = await startShop({ ORDER_PAYMENT_TIMEOUT: '1' }, 60_000, 4000);
  });
  afterAll(async () => {
    await shop?.close();
  });

  it('an order waiting for its customer expires: cancelled (payment_timeout), stock returned, the authorization voided', async () => {
    const buyer = await member(shop);
    const item = await product(shop, 2);
    const placed = await order(shop, buyer, item, 'pm_card_authenticationRequired');
    const expired = await settled(shop, buyer.token, placed.id, 'voided', 'cancelled');
    expect(expired.cancelReason).toBe('payment_timeout');
    expect(await stockOf(shop, item)).toBe(2);
    const payment = await paymentOf(shop, buyer.token, placed.id);
    expect(payment.status).toBe('voided');
    expect(intentOf(shop, payment.id)[0]).toMatchObject({ status: 'canceled', captures: 0 });
  });

  it('an authorization that arrives after the order expired is voided, never captured', async () => {
    const buyer = await member(shop);
    const placed = await order(shop, buyer, await product(shop, 2), 'pm_card_providerTimeout');
    await settled(shop, buyer.token, placed.id, 'voided', 'cancelled');
    const payment = await paymentOf(shop, buyer.token, placed.id);
    const [intent] = intentOf(shop, payment.id);
    // The provider did authorize (late): the replay of the call learnt it, and the void released it.
    expect(intent).toMatchObject({ authorizations: 1, captures: 0, status: 'canceled' });
    const events = await shop.system.call('GET', `/v1/events?aggregateId=${payment.id}`, {
      token: shop.adminToken,
    });
    expect(events.body.data.map((event: { type: string }) => event.type)).toEqual(['payment.voided']);
  });
});

describe(`payments: the payments service down while orders are placed (${mode})`, () => {
  let shop: Shop;
  beforeAll(async () => {
    shop = await startShop();
  });
  afterAll(async () => {
    await shop?.close();
  });

  it('orders stay pending, then each reaches its final state once it is back; each charged once', async () => {
    const buyer = await member(shop);
    const item = await product(shop, 10);
    await shop.system.stop('payments');
    const methods = [
      'pm_card_visa',
      'pm_card_chargeDeclined',
      'pm_card_visa',
      'pm_card_authenticationRequired',
    ];
    const placed = [];
    for (const method of methods) placed.push(await order(shop, buyer, item, method));
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const { id } of placed) {
      expect(await orderOf(shop, buyer.token, id)).toMatchObject({
        status: 'pending',
        payment: { status: 'pending' },
      });
    }
    await shop.system.start('payments');
    const expected = [
      ['captured', 'paid'],
      ['failed', 'cancelled'],
      ['captured', 'paid'],
      ['captured', 'paid'],
    ] as const;
    for (const [index, { id }] of placed.entries()) {
      await settled(shop, buyer.token, id, expected[index]![0], expected[index]![1]);
    }
    const intents = [...shop.simulator.intents.values()];
    expect(intents).toHaveLength(methods.length);
    expect(intents.every((intent) => intent.captures <= 1 && intent.authorizations <= 1)).toBe(true);
    expect(await stockOf(shop, item)).toBe(10 - 3);
  });
});
