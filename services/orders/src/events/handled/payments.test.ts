import {
  type Database,
  inboxHandler,
  newEvent,
  newUuid,
  openDatabase,
  publicIds,
  silentLog,
  toPublicId,
} from '@armature/platform';
import { Cache, DisabledCacheStore } from '@armature/platform/cache/index';
import { freshStore, mode, type TestStore } from '@armature/testing/databases';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsFolder } from '../../db/migrations.ts';
import type { OrdersDatabase } from '../../db/schema.ts';
import { paymentsEventsConsumer } from './payments.ts';

/**
 * The orders service's side of the saga, event by event: the same event delivered twice (the same
 * id: the inbox; a second announcement under a new id: the order's own state) and events arriving
 * out of order each change the order once, and the stock comes back once.
 */
let store: TestStore;
let database: Database<OrdersDatabase>;
let deliver: ReturnType<typeof inboxHandler<OrdersDatabase>>;

beforeAll(async () => {
  store = await freshStore('orders-payments');
  database = await openDatabase<OrdersDatabase>({
    service: 'orders',
    url: store.url,
    dataDir: store.dataDir,
    migrationsFolder,
  });
  const cache = new Cache({ store: new DisabledCacheStore(), name: 'orders' });
  deliver = inboxHandler({ db: database.db, ...paymentsEventsConsumer(cache, silentLog) });
});
afterAll(async () => {
  await database?.close();
  await store?.drop();
});

const userId = newUuid();

/** A product with `stock` left after an order of 2 that waits for its payment. */
async function placedOrder(stock = 3) {
  const productId = newUuid();
  const orderId = newUuid();
  const db = database.db;
  await db
    .insertInto('products')
    .values({ id: productId, name: 'Mug', price_amount: 500, currency: 'USD', stock })
    .execute();
  await db
    .insertInto('orders')
    .values({
      id: orderId,
      user_id: userId,
      total_amount: 1000,
      currency: 'USD',
      item_count: 2,
      note: null,
      payment_method: 'pm_card_visa',
      payment_status: 'pending',
      payment_failure_reason: null,
      cancel_reason: null,
    })
    .execute();
  await db
    .insertInto('order_items')
    .values({ order_id: orderId, line: 1, product_id: productId, name: 'Mug', unit_amount: 500, quantity: 2 })
    .execute();
  return { orderId, productId };
}

const paymentId = publicIds('pay').toPublic(newUuid());

function paymentEvent(type: string, orderId: string, extra: Record<string, unknown> = {}) {
  const now = new Date().toISOString();
  const stamps: Record<string, string> = {
    'payment.authorized': 'authorizedAt',
    'payment.captured': 'capturedAt',
    'payment.failed': 'failedAt',
    'payment.voided': 'voidedAt',
    'payment.refunded': 'refundedAt',
  };
  const {
    uuid: _uuid,
    occurredAt: _at,
    ...envelope
  } = newEvent({
    type,
    aggregateId: paymentId,
    data: {
      paymentId,
      orderId: toPublicId('order', orderId),
      userId: toPublicId('user', userId),
      amount: { amount: 1000, currency: 'USD' },
      [stamps[type]!]: now,
      ...extra,
    },
  });
  return envelope;
}

const once = { attempt: 1 };
const again = { attempt: 2 };

async function orderRow(orderId: string) {
  return database.db.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirstOrThrow();
}

async function stockOf(productId: string) {
  const row = await database.db
    .selectFrom('products')
    .select('stock')
    .where('id', '=', productId)
    .executeTakeFirstOrThrow();
  return row.stock;
}

/** The events the orders service published about this order, by type. */
async function published(orderId: string): Promise<string[]> {
  const rows = await database.db
    .selectFrom('outbox')
    .select('type')
    .where('aggregate_id', '=', toPublicId('order', orderId))
    .execute();
  return rows.map((row) => row.type).sort();
}

describe(`orders: payment events delivered twice or out of order (${mode})`, () => {
  it('payment.authorized twice (same id, then a new announcement): paid once, one order.updated', async () => {
    const { orderId } = await placedOrder();
    const authorized = paymentEvent('payment.authorized', orderId);
    expect(await deliver(authorized, once)).toBe('handled');
    expect(await deliver(authorized, again)).toBe('duplicate');
    expect(await deliver(paymentEvent('payment.authorized', orderId), once)).toBe('handled');
    const order = await orderRow(orderId);
    expect(order).toMatchObject({ status: 'paid', payment_status: 'authorized' });
    expect(await published(orderId)).toEqual(['order.updated']);
    expect(order.version).toBe(3);
  });

  it('payment.failed twice: cancelled once with the reason, the stock returned once', async () => {
    const { orderId, productId } = await placedOrder(3);
    await deliver(paymentEvent('payment.failed', orderId, { reason: 'insufficient_funds' }), once);
    await deliver(paymentEvent('payment.failed', orderId, { reason: 'insufficient_funds' }), once);
    expect(await orderRow(orderId)).toMatchObject({
      status: 'cancelled',
      cancel_reason: 'payment_failed',
      payment_status: 'failed',
      payment_failure_reason: 'insufficient_funds',
    });
    expect(await stockOf(productId)).toBe(5);
    expect(await published(orderId)).toEqual(['order.cancelled']);
  });

  it('a late payment.authorized after payment.failed changes nothing', async () => {
    const { orderId, productId } = await placedOrder(3);
    await deliver(paymentEvent('payment.failed', orderId, { reason: 'card_declined' }), once);
    await deliver(paymentEvent('payment.authorized', orderId), once);
    expect(await orderRow(orderId)).toMatchObject({ status: 'cancelled', payment_status: 'failed' });
    expect(await stockOf(productId)).toBe(5);
  });

  it('payment.captured before payment.authorized: the capture is kept, the order paid once', async () => {
    const { orderId } = await placedOrder();
    await deliver(paymentEvent('payment.authorized', orderId), once);
    await deliver(paymentEvent('payment.captured', orderId), once);
    await deliver(paymentEvent('payment.authorized', orderId), once);
    await deliver(paymentEvent('payment.captured', orderId), once);
    expect(await orderRow(orderId)).toMatchObject({ status: 'paid', payment_status: 'captured' });
    expect(await published(orderId)).toEqual(['order.updated']);
  });

  it('payment.refunded overtaking payment.captured: the order ends refunded, the capture does not undo it', async () => {
    const { orderId } = await placedOrder();
    await deliver(paymentEvent('payment.authorized', orderId), once);
    await deliver(
      paymentEvent('payment.refunded', orderId, { refunded: { amount: 1000, currency: 'USD' } }),
      once,
    );
    await deliver(paymentEvent('payment.captured', orderId), once);
    expect((await orderRow(orderId)).payment_status).toBe('refunded');
  });

  it('payment.voided overtaking payment.authorized: the order is never marked paid', async () => {
    const { orderId } = await placedOrder();
    await deliver(paymentEvent('payment.voided', orderId), once);
    await deliver(paymentEvent('payment.authorized', orderId), once);
    await deliver(paymentEvent('payment.captured', orderId), once);
    expect(await orderRow(orderId)).toMatchObject({ status: 'pending', payment_status: 'voided' });
    expect(await published(orderId)).toEqual([]);
  });
});
