import { mode } from '@armature/testing/databases';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../packages/platform/src/events/test-support.ts';
import { member, order, orderOf, product, type Shop, startShop } from './payments-shop.ts';

/**
 * Money adds up, whatever happens: after a random run of checkouts with every test payment method,
 * declines, customers cancelling paid orders and orders expiring unpaid, the provider holds exactly
 * the totals of the paid orders (captured − refunded), no intent was captured or refunded twice,
 * and every unit of stock is either on the shelf or in a live order.
 */
const methods = [
  'pm_card_visa',
  'pm_card_chargeDeclined',
  'pm_card_chargeDeclinedInsufficientFunds',
  'pm_card_authenticationRequired',
  'pm_card_providerTimeout',
] as const;

const final = (placed: { status: string; payment: { status: string } | null }) =>
  (placed.status === 'paid' && placed.payment?.status === 'captured') ||
  (placed.status === 'cancelled' && ['failed', 'voided', 'refunded'].includes(placed.payment?.status ?? ''));

describe(`payments: money adds up after a random run (${mode})`, () => {
  let shop: Shop;
  beforeAll(async () => {
    // Unpaid orders expire after 2 s; a customer's confirmation takes 3 s (so those expire); a slow
    // provider answers after 3 s (its replay may come before or after the expiry).
    shop = await startShop({ ORDER_PAYMENT_TIMEOUT: '2' }, 3000, 3000);
  });
  afterAll(async () => {
    await shop?.close();
  });

  it('captured − refunded = the totals of paid orders; nothing charged twice; stock adds up', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            method: fc.constantFrom(...methods),
            quantity: fc.integer({ min: 1, max: 3 }),
            cancelWhenPaid: fc.boolean(),
            price: fc.integer({ min: 100, max: 5000 }),
          }),
          { minLength: 1, maxLength: 5 },
        ),
        async (plan) => {
          const buyer = await member(shop);
          const placed: Array<{ id: string; item: string; cancelWhenPaid: boolean }> = [];
          for (const step of plan) {
            const item = await product(shop, 10, step.price);
            const created = await order(shop, buyer, item, step.method, step.quantity);
            placed.push({ id: created.id, item, cancelWhenPaid: step.cancelWhenPaid });
          }
          for (const entry of placed) {
            if (!entry.cancelWhenPaid) continue;
            const paid = await eventually(
              `order ${entry.id} settled`,
              async () => {
                const now = await orderOf(shop, buyer.token, entry.id);
                return now.status !== 'pending' || now.payment?.status === 'failed' ? now : undefined;
              },
              20_000,
            );
            // The capture may change the order (a new version) between the read and the cancel: on a
            // 409 the customer reads it again and cancels that version, as a client does.
            let current = paid;
            for (let attempt = 0; current.status === 'paid'; attempt++) {
              const cancel = await shop.system.call('PATCH', `/v2/orders/${entry.id}`, {
                token: buyer.token,
                body: { status: 'cancelled', version: current.version },
              });
              if (cancel.status !== 409 || attempt === 4) {
                expect(cancel.status).toBe(200);
                break;
              }
              current = await orderOf(shop, buyer.token, entry.id);
            }
          }
          const settled = [];
          for (const entry of placed) {
            settled.push(
              await eventually(
                `order ${entry.id} in a final state`,
                async () => {
                  const now = await orderOf(shop, buyer.token, entry.id);
                  return final(now) ? now : undefined;
                },
                30_000,
              ),
            );
          }
          const paidTotal = settled
            .filter((entry) => entry.status === 'paid')
            .reduce((sum, entry) => sum + entry.total.amount, 0);
          const payments = (await shop.system.call('GET', '/v2/payments?limit=100', { token: buyer.token }))
            .body.data;
          const references = new Set(payments.map((payment: { id: string }) => payment.id));
          const intents = [...shop.simulator.intents.values()].filter((intent) =>
            references.has(intent.reference),
          );
          const held = intents.reduce(
            (sum, intent) => sum + intent.amountCaptured - intent.amountRefunded,
            0,
          );
          expect(held).toBe(paidTotal);
          expect(intents.every((intent) => intent.captures <= 1 && intent.refunds <= 1)).toBe(true);
          // One intent per payment: retries replayed the first call, never made another.
          expect(intents).toHaveLength(payments.length);
          for (const [index, entry] of placed.entries()) {
            const stock = (await shop.system.call('GET', `/v2/products/${entry.item}`)).body.stock;
            const live = settled[index]!.status === 'cancelled' ? 0 : settled[index]!.itemCount;
            expect(stock + live).toBe(10);
          }
        },
      ),
      { numRuns: 3 },
    );
  });
});
