import { randomUUID } from 'node:crypto';
import { type Database, openDatabase } from '@armature/platform';
import { freshStore, mode, type TestStore } from '@armature/testing/databases';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsFolder } from '../db/migrations.ts';
import { openPayment } from '../db/payments.ts';
import type { PaymentsDatabase } from '../db/schema.ts';
import type { PaymentProvider } from '../provider/port.ts';
import { SimulatorProvider } from '../provider/simulator-provider.ts';
import { type Simulator, startSimulator } from '../simulator/simulator.ts';
import { PaymentWorker } from './payment-worker.ts';

/**
 * A crash between the provider's answer and our commit: the provider authorized, then the process
 * died before the payment row said so. On the retry the call goes out again under the same
 * idempotency key, the provider answers with the first outcome, and the card is charged once.
 */
describe(`the payment worker after a crash between the provider's answer and the commit (${mode})`, () => {
  let store: TestStore;
  let database: Database<PaymentsDatabase>;
  let simulator: Simulator;

  beforeAll(async () => {
    store = await freshStore('payments-worker');
    database = await openDatabase<PaymentsDatabase>({
      service: 'payments',
      url: store.url,
      dataDir: store.dataDir,
      migrationsFolder,
    });
    simulator = await startSimulator({
      webhookSecret: 'worker-test-secret-value',
      webhookUrl: () => undefined,
    });
  });
  afterAll(async () => {
    await simulator?.close();
    await database?.close();
    await store?.drop();
  });

  it('replays the call with the same key on restart and charges once', async () => {
    const real = new SimulatorProvider({ url: simulator.url, timeoutMs: 2000 });
    let crashes = 0;
    // The first answer is lost as in a crash: the provider has acted, our transaction never commits.
    const crashing: PaymentProvider = {
      ...real,
      authorize: async (request) => {
        const outcome = await real.authorize(request);
        if (crashes++ === 0) throw new Error('crashed after the provider answered');
        return outcome;
      },
      capture: (request) => real.capture(request),
      void: (request) => real.void(request),
      refund: (request) => real.refund(request),
    };
    const orderId = randomUUID();
    await database.db.transaction().execute((trx) =>
      openPayment(trx, {
        orderId,
        userId: randomUUID(),
        amount: 4200,
        currency: 'USD',
        method: 'pm_card_visa',
      }),
    );
    const worker = new PaymentWorker({
      db: database.db,
      provider: crashing,
      log: pino({ level: 'silent' }),
      intervalMs: 100,
      leaseSeconds: 1,
    });
    worker.start();
    try {
      const deadline = Date.now() + 15_000;
      let status = '';
      while (status !== 'authorized' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const row = await database.db
          .selectFrom('payments')
          .select('status')
          .where('order_id', '=', orderId)
          .executeTakeFirst();
        status = row?.status ?? '';
      }
      expect(status).toBe('authorized');
    } finally {
      await worker.close();
    }
    expect(crashes).toBe(2);
    const intents = [...simulator.intents.values()].filter((intent) => intent.amount === 4200);
    expect(intents).toHaveLength(1);
    expect(intents[0]).toMatchObject({ authorizations: 1, status: 'requires_capture' });
    const attempts = await database.db
      .selectFrom('payment_attempts')
      .select(['operation', 'idempotency_key', 'outcome'])
      .execute();
    // Only the replay was recorded (the crash took the first record with it), under the same key.
    expect(attempts).toEqual([
      {
        operation: 'authorize',
        idempotency_key: expect.stringMatching(/^authorize:/),
        outcome: 'authorized',
      },
    ]);
  });

  it('refunds a paid order cancelled after its capture reached the provider but not our database', async () => {
    const real = new SimulatorProvider({ url: simulator.url, timeoutMs: 2000 });
    const orderId = randomUUID();
    const payment = () =>
      database.db
        .selectFrom('payments')
        .selectAll()
        .where('order_id', '=', orderId)
        .executeTakeFirstOrThrow();
    let crashed = false;
    // The capture goes through at the provider, then the process dies before recording it; meanwhile
    // the customer cancels the paid order.
    const crashing: PaymentProvider = {
      ...real,
      authorize: (request) => real.authorize(request),
      capture: async (request) => {
        await real.capture(request);
        if (crashed) return;
        crashed = true;
        await database.db
          .updateTable('payments')
          .set({ order_cancelled: true })
          .where('order_id', '=', orderId)
          .execute();
        throw new Error('crashed after the provider captured');
      },
      void: (request) => real.void(request),
      refund: (request) => real.refund(request),
    };
    await database.db.transaction().execute((trx) =>
      openPayment(trx, {
        orderId,
        userId: randomUUID(),
        amount: 5100,
        currency: 'USD',
        method: 'pm_card_visa',
      }),
    );
    const worker = new PaymentWorker({
      db: database.db,
      provider: crashing,
      log: pino({ level: 'silent' }),
      intervalMs: 100,
      leaseSeconds: 1,
    });
    worker.start();
    try {
      const until = async (status: string) => {
        const deadline = Date.now() + 15_000;
        while ((await payment()).status !== status && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect((await payment()).status).toBe(status);
      };
      await until('authorized');
      await database.db
        .updateTable('payments')
        .set({ order_paid: true, next_attempt_at: new Date() })
        .where('order_id', '=', orderId)
        .execute();
      worker.wake();
      await until('refunded');
    } finally {
      await worker.close();
    }
    expect(crashed).toBe(true);
    const intents = [...simulator.intents.values()].filter((intent) => intent.amount === 5100);
    expect(intents).toHaveLength(1);
    expect(intents[0]).toMatchObject({ captures: 1, refunds: 1, amountCaptured: 5100, amountRefunded: 5100 });
  });
});
