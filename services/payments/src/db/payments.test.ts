import { randomUUID } from 'node:crypto';
import { type Database, openDatabase } from '@armature/platform';
import { freshStore, mode, type TestStore } from '@armature/testing/databases';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsFolder } from './migrations.ts';
import { movePayment, noteOrder, openPayment } from './payments.ts';
import type { PaymentsDatabase } from './schema.ts';

/** The order events as the payments service applies them: twice, or out of order, one effect each. */
describe(`payments from the orders' events, duplicated or out of order (${mode})`, () => {
  let store: TestStore;
  let database: Database<PaymentsDatabase>;
  const order = () => ({
    orderId: randomUUID(),
    userId: randomUUID(),
    amount: 990,
    currency: 'USD',
    method: 'pm_card_visa',
  });
  const paymentsOf = (orderId: string) =>
    database.db.selectFrom('payments').selectAll().where('order_id', '=', orderId).execute();
  beforeAll(async () => {
    store = await freshStore('payments-db');
    database = await openDatabase<PaymentsDatabase>({
      service: 'payments',
      url: store.url,
      dataDir: store.dataDir,
      migrationsFolder,
    });
  });
  afterAll(async () => {
    await database?.close();
    await store?.drop();
  });

  it('opens one payment however often order.created comes', async () => {
    const placed = order();
    for (let i = 0; i < 3; i++) await database.db.transaction().execute((trx) => openPayment(trx, placed));
    const rows = await paymentsOf(placed.orderId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'pending', amount: 990 });
  });

  it('a cancellation before the order itself: the payment is born voided and never goes to the provider', async () => {
    const placed = order();
    await database.db.transaction().execute((trx) => noteOrder(trx, placed.orderId, 'cancelled'));
    await database.db.transaction().execute((trx) => openPayment(trx, placed));
    const [row] = await paymentsOf(placed.orderId);
    expect(row).toMatchObject({ status: 'voided', order_cancelled: true });
  });

  it('a cancellation handled while the order is being opened by another instance is not lost', async () => {
    // Two payments instances, one handling order.created, the other order.cancelled, at once: the
    // cancellation must end on the payment whichever commits first.
    const placed = order();
    let opened!: () => void;
    const openedNow = new Promise<void>((resolve) => {
      opened = resolve;
    });
    const creating = database.db.transaction().execute(async (trx) => {
      await openPayment(trx, placed);
      opened();
      // Still uncommitted while the other instance handles the cancellation.
      await new Promise((resolve) => setTimeout(resolve, 300));
    });
    await openedNow;
    const cancelling = database.db
      .transaction()
      .execute((trx) => noteOrder(trx, placed.orderId, 'cancelled'));
    await Promise.all([creating, cancelling]);
    const [row] = await paymentsOf(placed.orderId);
    expect(row).toMatchObject({ order_cancelled: true });
  });

  it('applies an outcome once: the same move again, or one its lifecycle does not allow, changes nothing', async () => {
    const placed = order();
    await database.db.transaction().execute((trx) => openPayment(trx, placed));
    const [row] = await paymentsOf(placed.orderId);
    const before = await database.db.selectFrom('outbox').select('id').execute();
    expect(
      await movePayment(database.db, row!.id, { to: 'authorized', providerPaymentId: 'pi_1' }),
    ).toBeDefined();
    expect(
      await movePayment(database.db, row!.id, { to: 'authorized', providerPaymentId: 'pi_1' }),
    ).toBeUndefined();
    // A late "failed" after the authorization: the lifecycle has no such move.
    expect(
      await movePayment(database.db, row!.id, { to: 'failed', failureReason: 'card_declined' }),
    ).toBeUndefined();
    // Refunded before captured: out of order, refused.
    expect(await movePayment(database.db, row!.id, { to: 'refunded' })).toBeUndefined();
    const after = await database.db.selectFrom('outbox').select('type').execute();
    expect(after.length - before.length).toBe(1);
    expect((await paymentsOf(placed.orderId))[0]).toMatchObject({ status: 'authorized', version: 2 });
  });
});
