import { describe, expect, it } from 'vitest';
import {
  acknowledgedWrites,
  answersAndHealth,
  checkAll,
  eventsDelivered,
  idempotencyHeld,
  type OutboxEvent,
  ordersAndMoney,
  type Snapshot,
  stockConserved,
  unhandledEvents,
} from './invariants.ts';
import { emptyLedger, type Ledger } from './load.ts';

/**
 * Each invariant checker given a consistent system (it passes) and then the same system with one
 * thing broken that the invariant is about (it fails, naming it).
 */

let seq = 0;
const event = (type: string, aggregateId: string, data: Record<string, unknown>): OutboxEvent => ({
  id: `00000000-0000-7000-8000-${String(++seq).padStart(12, '0')}`,
  type,
  aggregateId,
  data,
  published: true,
});

function consistent(): { snapshot: Snapshot; ledger: Ledger } {
  seq = 0;
  const userCreated = event('user.created', 'usr_a', {
    userId: 'usr_a',
    email: 'a@example.com',
    name: 'A',
    version: 1,
  });
  const cardOrder = event('order.created', 'ord_card', {
    orderId: 'ord_card',
    status: 'pending',
    total: { amount: 500, currency: 'USD' },
    paymentMethod: 'pm_card_visa',
  });
  const plainOrder = event('order.created', 'ord_plain', {
    orderId: 'ord_plain',
    status: 'pending',
    total: { amount: 300, currency: 'USD' },
  });
  const authorized = event('payment.authorized', 'pay_1', { orderId: 'ord_card' });
  const paid = event('order.updated', 'ord_card', {
    orderId: 'ord_card',
    status: 'paid',
    previousStatus: 'pending',
  });
  const captured = event('payment.captured', 'pay_1', { orderId: 'ord_card' });
  const cancelled = event('order.cancelled', 'ord_plain', {
    orderId: 'ord_plain',
    previousStatus: 'pending',
  });
  const snapshot: Snapshot = {
    users: [{ id: 'usr_a', email: 'a@example.com', name: 'A', version: 1, deleted: false }],
    customers: [{ id: 'usr_a', email: 'a@example.com', name: 'A', status: 'active', version: 1 }],
    products: [{ id: 'prd_1', stock: 97 }],
    orders: [
      {
        id: 'ord_card',
        userId: 'usr_a',
        status: 'paid',
        total: 500,
        paymentMethod: 'pm_card_visa',
        paymentStatus: 'captured',
      },
      {
        id: 'ord_plain',
        userId: 'usr_a',
        status: 'cancelled',
        total: 300,
        paymentMethod: null,
        paymentStatus: null,
      },
    ],
    orderItems: [
      { orderId: 'ord_card', productId: 'prd_1', quantity: 5 },
      { orderId: 'ord_plain', productId: 'prd_1', quantity: 3 },
    ],
    cartItems: [{ userId: 'usr_a', productId: 'prd_1', quantity: 2 }],
    payments: [
      {
        id: 'p1',
        orderId: 'ord_card',
        amount: 500,
        method: 'pm_card_visa',
        status: 'captured',
        refunded: 0,
        orderPaid: true,
        orderCancelled: false,
      },
    ],
    intents: [
      { id: 'pi_1', reference: 'pay_1', amountCaptured: 500, amountRefunded: 0, captures: 1, refunds: 0 },
    ],
    outbox: {
      users: [userCreated],
      orders: [cardOrder, plainOrder, paid, cancelled],
      payments: [authorized, captured],
    },
    inbox: {
      orders: [userCreated.id],
      // The order without a payment method is skipped by payments: no inbox entry.
      payments: [cardOrder.id, paid.id, cancelled.id],
      'orders-payments': [authorized.id, captured.id],
    },
  };
  const ledger = emptyLedger();
  ledger.initialStock = { prd_1: 100 };
  ledger.restocks = { prd_1: 2 };
  ledger.users = [{ id: 'usr_a', email: 'a@example.com' }];
  ledger.orders = [
    { id: 'ord_card', userId: 'usr_a', total: 500, paymentMethod: 'pm_card_visa' },
    { id: 'ord_plain', userId: 'usr_a', total: 300 },
  ];
  ledger.statusChanges = [{ orderId: 'ord_plain', status: 'cancelled' }];
  ledger.carts = { usr_a: { prd_1: 2 } };
  ledger.idempotency = { k1: ['ord_card', 'ord_card'], k2: ['ord_plain'] };
  ledger.answers = [
    { at: 1000, op: 'checkout', status: 201 },
    { at: 5000, op: 'checkout', status: 503, envelope: true, code: 'SERVICE_UNAVAILABLE' },
    { at: 6000, op: 'cart put', status: 0, code: 'CUT', gateway: 'gateway-1', sentAt: 5500 },
  ];
  return { snapshot, ledger };
}

const windows = [
  { from: 4000, to: 8000, target: 'postgres' },
  { from: 5000, to: 7000, target: 'gateway-1' },
];
const health = { recoveredMs: 2000, boundMs: 120_000 };

describe('chaos invariants', () => {
  it('all pass on a consistent system', () => {
    const { snapshot, ledger } = consistent();
    const results = checkAll(snapshot, ledger, windows, health);
    expect(results.filter((result) => !result.pass)).toEqual([]);
    expect(results).toHaveLength(6);
  });

  describe('1. acknowledged writes', () => {
    it('fails when an acknowledged user is gone', () => {
      const { snapshot, ledger } = consistent();
      snapshot.users[0]!.deleted = true;
      expect(acknowledgedWrites(snapshot, ledger).problems).toEqual([expect.stringContaining('user usr_a')]);
    });
    it('fails when an acknowledged order is missing', () => {
      const { snapshot, ledger } = consistent();
      snapshot.orders = snapshot.orders.filter((order) => order.id !== 'ord_plain');
      expect(acknowledgedWrites(snapshot, ledger).pass).toBe(false);
    });
    it('fails when an acknowledged cancellation was undone', () => {
      const { snapshot, ledger } = consistent();
      snapshot.orders[1]!.status = 'pending';
      expect(acknowledgedWrites(snapshot, ledger).problems).toEqual([
        expect.stringContaining('acknowledged cancelled but is pending'),
      ]);
    });
    it('fails when a cart differs from its last acknowledged state', () => {
      const { snapshot, ledger } = consistent();
      snapshot.cartItems[0]!.quantity = 3;
      expect(acknowledgedWrites(snapshot, ledger).problems).toEqual([
        expect.stringContaining('cart of usr_a'),
      ]);
    });
    it('accepts a status moved further along after the acknowledged one', () => {
      const { snapshot, ledger } = consistent();
      ledger.statusChanges.push({ orderId: 'ord_card', status: 'paid' });
      snapshot.orders[0]!.status = 'shipped';
      expect(acknowledgedWrites(snapshot, ledger).pass).toBe(true);
    });
  });

  it('2. fails when a unit of stock is lost', () => {
    const { snapshot, ledger } = consistent();
    snapshot.products[0]!.stock = 96;
    const result = stockConserved(snapshot, ledger);
    expect(result.pass).toBe(false);
    expect(result.problems).toEqual([expect.stringContaining('prd_1: stock 96 + 5 in orders ≠ 102')]);
  });

  describe('3. lifecycle and money', () => {
    it('fails on a transition the lifecycle lacks', () => {
      const { snapshot } = consistent();
      snapshot.outbox.orders.push(
        event('order.updated', 'ord_plain', {
          orderId: 'ord_plain',
          status: 'shipped',
          previousStatus: 'cancelled',
        }),
      );
      expect(ordersAndMoney(snapshot).problems).toEqual(
        expect.arrayContaining([expect.stringContaining('ord_plain: cancelled → shipped')]),
      );
    });
    it('fails when captured − refunded differs from the paid totals', () => {
      const { snapshot } = consistent();
      snapshot.payments[0]!.refunded = 500;
      expect(ordersAndMoney(snapshot).problems).toEqual([
        expect.stringContaining('captured 500 − refunded 500'),
      ]);
    });
    it('fails when a payment was captured twice', () => {
      const { snapshot } = consistent();
      snapshot.intents[0]!.captures = 2;
      expect(ordersAndMoney(snapshot).problems).toEqual([expect.stringContaining('2 captures')]);
    });
    it('fails when one payment was charged through two intents', () => {
      const { snapshot } = consistent();
      snapshot.intents.push({
        id: 'pi_2',
        reference: 'pay_1',
        amountCaptured: 0,
        amountRefunded: 0,
        captures: 1,
        refunds: 0,
      });
      expect(ordersAndMoney(snapshot).problems).toEqual([
        expect.stringContaining('pay_1 captured by 2 intents'),
      ]);
    });
  });

  describe('4. events', () => {
    it('fails when an event was never published', () => {
      const { snapshot } = consistent();
      snapshot.outbox.users[0]!.published = false;
      expect(eventsDelivered(snapshot).problems).toEqual([
        expect.stringContaining('users: 1 events never published'),
      ]);
    });
    it('fails when a consumer never handled an event', () => {
      const { snapshot } = consistent();
      snapshot.inbox.payments = snapshot.inbox.payments!.slice(1);
      expect(eventsDelivered(snapshot).problems).toEqual([
        expect.stringContaining('payments never handled order.created'),
      ]);
      expect(unhandledEvents(snapshot)).toBe(1);
    });
    it('fails when a projection differs from replaying the outbox', () => {
      const { snapshot } = consistent();
      snapshot.customers[0]!.name = 'Someone else';
      expect(eventsDelivered(snapshot).problems).toEqual([expect.stringContaining('customer usr_a')]);
    });
    it('fails when an order has two payments (an event applied twice)', () => {
      const { snapshot } = consistent();
      snapshot.payments.push({ ...snapshot.payments[0]!, id: 'p2' });
      expect(eventsDelivered(snapshot).problems).toEqual([expect.stringContaining('2 payments')]);
    });
    it("fails when the order's payment state is not what the payment events replay to", () => {
      const { snapshot } = consistent();
      snapshot.orders[0]!.paymentStatus = 'authorized';
      expect(eventsDelivered(snapshot).problems).toEqual([
        expect.stringContaining('order ord_card: payment authorized ≠ replay captured'),
      ]);
    });
  });

  it('5. fails when one idempotency key answered two orders', () => {
    const { ledger } = consistent();
    ledger.idempotency.k2 = ['ord_plain', 'ord_other'];
    expect(idempotencyHeld(ledger).problems).toEqual(['key k2 answered ord_plain, ord_other']);
  });

  describe('6. answers and health', () => {
    it('fails on any 500, even during a fault', () => {
      const { ledger } = consistent();
      ledger.answers.push({ at: 5000, op: 'checkout', status: 500, code: 'INTERNAL_ERROR' });
      expect(answersAndHealth(ledger.answers, windows, health).problems).toEqual([
        expect.stringContaining('500 on checkout'),
      ]);
    });
    it('fails on a 503 outside every fault, and on one without the envelope', () => {
      const { ledger } = consistent();
      ledger.answers.push({ at: 9000, op: 'read product', status: 503, envelope: true });
      ledger.answers.push({ at: 5000, op: 'read product', status: 502, envelope: false });
      expect(answersAndHealth(ledger.answers, windows, health).problems).toEqual([
        expect.stringContaining('outside any fault'),
        expect.stringContaining('502 without the envelope'),
      ]);
    });
    it('fails when a live gateway left a request unanswered', () => {
      const { ledger } = consistent();
      ledger.answers.push({
        at: 7500,
        op: 'checkout',
        status: 0,
        code: 'TIMEOUT',
        gateway: 'gateway-2',
        sentAt: 6000,
      });
      expect(answersAndHealth(ledger.answers, windows, health).problems).toEqual([
        expect.stringContaining('no answer (TIMEOUT) from gateway-2'),
      ]);
    });
    it('fails when /health was not healthy within the bound', () => {
      const { ledger } = consistent();
      expect(answersAndHealth(ledger.answers, windows, { boundMs: 120_000 }).pass).toBe(false);
      expect(answersAndHealth(ledger.answers, windows, { recoveredMs: 130_000, boundMs: 120_000 }).pass).toBe(
        false,
      );
    });
  });
});
