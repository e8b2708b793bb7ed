import { randomUUID } from 'node:crypto';
import { mode } from '@armature/testing/databases';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../services/payments/src/provider/webhook-signature.ts';
import {
  intentOf,
  member,
  order,
  orderOf,
  paymentOf,
  product,
  type Shop,
  secret,
  settled,
  startShop,
  stockOf,
} from './payments-shop.ts';

/**
 * The payment saga through the gateway: each test payment method from checkout to its final state,
 * cancellation and refund, signed webhooks. The provider simulator runs beside the system (as in
 * scale-out) and sends its webhooks through the gateway; its record of every intent is what
 * "charged once" is checked against.
 */
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
      // Held back until the stock taken is seen: a decline can otherwise return it before the read.
      await shop.system.stop('payments');
      const placed = await order(shop, buyer, item, method, 2);
      expect(await stockOf(shop, item)).toBe(1);
      await shop.system.start('payments');
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
    // Announced as authorized or not (the cancellation may reach the payments service just after
    // the answer), it ends voided, and nothing was ever captured.
    const types = events.body.data.map((event: { type: string }) => event.type);
    expect(types).toContain('payment.voided');
    expect(types).not.toContain('payment.captured');
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
