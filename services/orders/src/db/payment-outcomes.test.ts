import { randomUUID } from 'node:crypto';
import { type Database, openDatabase } from '@armature/platform';
import { freshStore, mode, type TestStore } from '@armature/testing/databases';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsFolder } from './migrations.ts';
import { paymentAuthorized, paymentCaptured, paymentFailed, paymentRefunded } from './payment-outcomes.ts';
import type { OrdersDatabase } from './schema.ts';

/** The payments service's events as the orders service applies them: twice, or out of order, one effect each. */
describe(`orders following their payments, events duplicated or out of order (${mode})`, () => {
  let store: TestStore;
  let database: Database<OrdersDatabase>;

  beforeAll(async () => {
    store = await freshStore('orders-payments');
    database = await openDatabase<OrdersDatabase>({
      service: 'orders',
      url: store.url,
      dataDir: store.dataDir,
      migrationsFolder,
    });
  });
  afterAll(async () => {
    await database?.close();
    await store?.drop();
  });

  const placeOrder = async () => {
    const id = randomUUID();
    await database.db
      .insertInto('orders')
      .values({
        id,
        user_id: randomUUID(),
        total_amount: 500,
        currency: 'USD',
        item_count: 1,
        note: null,
        payment_method: 'pm_card_visa',
        payment_status: 'pending',
        payment_failure_reason: null,
        cancel_reason: null,
      })
      .execute();
    return id;
  };
  const apply = (step: (trx: never, orderId: string) => Promise<unknown>, orderId: string) =>
    database.db.transaction().execute((trx) => step(trx as never, orderId));
  const orderRow = (id: string) =>
    database.db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  /** How many order events the outbox holds (the tests compare before and after one step). */
  const orderEvents = async () =>
    (await database.db.selectFrom('outbox').select('type').execute()).filter((row) =>
      row.type.startsWith('order.'),
    ).length;

  it('payment.authorized twice: paid once, one order.updated', async () => {
    const id = await placeOrder();
    const before = await orderEvents();
    await apply(paymentAuthorized, id);
    await apply(paymentAuthorized, id);
    expect(await orderRow(id)).toMatchObject({ status: 'paid', payment_status: 'authorized' });
    expect((await orderEvents()) - before).toBe(1);
  });

  it('payment.captured before payment.authorized changes nothing; in order, both apply', async () => {
    const id = await placeOrder();
    await apply(paymentCaptured, id);
    expect(await orderRow(id)).toMatchObject({ status: 'pending', payment_status: 'pending' });
    await apply(paymentAuthorized, id);
    await apply(paymentCaptured, id);
    await apply(paymentRefunded, id);
    await apply(paymentRefunded, id);
    expect(await orderRow(id)).toMatchObject({ status: 'paid', payment_status: 'refunded' });
  });

  it('payment.failed after an authorization changes nothing; twice on a pending order, cancels it once', async () => {
    const paid = await placeOrder();
    await apply(paymentAuthorized, paid);
    await database.db.transaction().execute((trx) => paymentFailed(trx, paid, 'card_declined'));
    expect(await orderRow(paid)).toMatchObject({ status: 'paid', payment_status: 'authorized' });

    const failing = await placeOrder();
    const before = await orderEvents();
    await database.db.transaction().execute((trx) => paymentFailed(trx, failing, 'card_declined'));
    await database.db.transaction().execute((trx) => paymentFailed(trx, failing, 'card_declined'));
    expect(await orderRow(failing)).toMatchObject({
      status: 'cancelled',
      cancel_reason: 'payment_failed',
      payment_status: 'failed',
      payment_failure_reason: 'card_declined',
    });
    expect((await orderEvents()) - before).toBe(1);
  });
});
