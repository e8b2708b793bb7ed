import { type Database, inboxHandler, newEvent, newUuid, openDatabase, toPublicId } from '@armature/platform';
import { freshStore, mode, type TestStore } from '@armature/testing/databases';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsFolder } from '../../db/migrations.ts';
import type { PaymentsDatabase } from '../../db/schema.ts';
import { ordersEventsConsumer } from './orders.ts';

/**
 * The payments service consumes every new order but acts only on those with a payment method: a
 * checkout without one must cost it no transaction, no inbox entry and no wake of the worker.
 */
describe(`the payments consumer of new orders (${mode})`, () => {
  let store: TestStore;
  let database: Database<PaymentsDatabase>;
  let wakes = 0;
  let deliver: ReturnType<typeof inboxHandler<PaymentsDatabase>>;

  beforeAll(async () => {
    store = await freshStore('payments-consumer');
    database = await openDatabase<PaymentsDatabase>({
      service: 'payments',
      url: store.url,
      dataDir: store.dataDir,
      migrationsFolder,
    });
    deliver = inboxHandler({ db: database.db, ...ordersEventsConsumer(() => wakes++) });
  });
  afterAll(async () => {
    await database?.close();
    await store?.drop();
  });

  const orderCreated = (paymentMethod?: string) => {
    const orderId = toPublicId('order', newUuid());
    const {
      uuid: _uuid,
      occurredAt: _at,
      ...event
    } = newEvent({
      type: 'order.created',
      aggregateId: orderId,
      data: {
        orderId,
        userId: toPublicId('user', newUuid()),
        status: 'pending',
        total: { amount: 1250, currency: 'USD' },
        itemCount: 1,
        items: [
          {
            productId: toPublicId('product', newUuid()),
            name: 'Mug',
            quantity: 1,
            unitPrice: { amount: 1250, currency: 'USD' },
          },
        ],
        ...(paymentMethod ? { paymentMethod } : {}),
        version: 1,
        createdAt: new Date().toISOString(),
      },
    });
    return event;
  };
  const count = async (table: 'inbox' | 'payments') =>
    Number(
      (
        await database.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirst()
      )?.n,
    );

  it('skips an order without a payment method: no transaction, no inbox entry, no wake', async () => {
    const [inbox, payments] = [await count('inbox'), await count('payments')];
    const outcome = await deliver(orderCreated(), { attempt: 1 });
    expect(outcome).toBe('skipped');
    expect(await count('inbox')).toBe(inbox);
    expect(await count('payments')).toBe(payments);
    expect(wakes).toBe(0);
  });

  it('opens the payment of an order paid by card, once, and wakes the worker', async () => {
    const event = orderCreated('pm_card_visa');
    expect(await deliver(event, { attempt: 1 })).toBe('handled');
    expect(await deliver(event, { attempt: 2 })).toBe('duplicate');
    const rows = await database.db.selectFrom('payments').select(['method', 'amount']).execute();
    expect(rows).toEqual([{ method: 'pm_card_visa', amount: 1250 }]);
    expect(wakes).toBe(1);
  });
});
