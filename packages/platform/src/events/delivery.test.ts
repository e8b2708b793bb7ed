import { mode } from '@armature/testing/databases';
import { Type } from '@sinclair/typebox';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type EventHandler, type HandleOutcome, startConsumer } from './consumer.ts';
import { type EventEnvelope, encodeEvent, newEvent, subjectOf } from './envelope.ts';
import { InProcessBus } from './in-process-bus.ts';
import { EventMetrics } from './metrics.ts';
import { NatsTransport } from './nats-transport.ts';
import { appendEvent } from './outbox.ts';
import { OutboxRelay } from './relay.ts';
import {
  deleteStream,
  eventsDatabase,
  eventually,
  lastMessage,
  natsTestUrl,
  publishRaw,
  recordEffect,
  subjectCounts,
  type TestDatabase,
  type TestSchema,
  testEvent,
  uniqueStream,
} from './test-support.ts';
import type { EventTransport, Subscription } from './transport.ts';

/** What a test needs from one transport, whichever it is. */
interface Harness {
  /** The transport of "this instance" of the consuming service. */
  transport: EventTransport;
  /** Another instance's transport (another process, for NATS), sharing the same broker. */
  secondInstance(): Promise<EventTransport>;
  /** Delivers the same event a second time, bypassing any deduplication of the broker. */
  deliverAgain(event: EventEnvelope): Promise<void>;
  /** The dead letters of `durable`: their event ids and the attempts made. */
  deadLetters(durable: string): Promise<Array<{ id: string; attempts: number; error: string }>>;
  close(): Promise<void>;
}

const transports: Array<{ name: string; create(metrics: EventMetrics): Promise<Harness> }> = [
  {
    name: 'in-process bus',
    async create(metrics) {
      const bus = new InProcessBus({ metrics });
      return {
        transport: bus,
        secondInstance: async () => bus,
        deliverAgain: (event) => bus.publish([event]),
        deadLetters: async (durable) =>
          bus.deadLetters
            .filter((letter) => letter.durable === durable)
            .map((letter) => ({ id: letter.event.id, attempts: letter.attempts, error: letter.error })),
        close: () => bus.close(),
      };
    },
  },
  {
    name: 'NATS JetStream',
    async create(metrics) {
      const stream = uniqueStream('delivery');
      const open = async () => {
        const transport = new NatsTransport({ url: natsTestUrl, stream, metrics, drainTimeoutMs: 200 });
        await transport.ready();
        return transport;
      };
      const transport = await open();
      const others: NatsTransport[] = [];
      return {
        transport,
        async secondInstance() {
          const other = await open();
          others.push(other);
          return other;
        },
        deliverAgain: (event) =>
          publishRaw(natsTestUrl, subjectOf(transport.prefix, event.type), encodeEvent(event)),
        async deadLetters(durable) {
          const counts = await subjectCounts(natsTestUrl, stream, `${transport.prefix}.dead.${durable}.>`);
          const letters: Array<{ id: string; attempts: number; error: string }> = [];
          for (const subject of Object.keys(counts)) {
            const message = await lastMessage(natsTestUrl, stream, subject);
            if (!message) continue;
            const event = JSON.parse(message.data) as EventEnvelope;
            // Every dead letter of these tests has its own subject (one per type): count them all.
            for (let i = 0; i < counts[subject]!; i++) {
              letters.push({
                id: event.id,
                attempts: Number(message.headers['Armature-Attempts']),
                error: message.headers['Armature-Error'] ?? '',
              });
            }
          }
          return letters;
        },
        async close() {
          await Promise.all([transport, ...others].map((each) => each.close()));
          await deleteStream(natsTestUrl, stream);
        },
      };
    },
  },
];

let database: TestDatabase;
beforeAll(async () => {
  database = await eventsDatabase('delivery');
});
afterAll(() => database.drop());

describe.each(transports)(`delivery over the $name (${mode})`, ({ create }) => {
  let metrics: EventMetrics;
  let harness: Harness;
  const cleanups: Array<() => Promise<unknown>> = [];

  // A fresh bus or stream per test: durable consumers and dead letters start empty.
  beforeEach(async () => {
    metrics = new EventMetrics();
    harness = await create(metrics);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await harness.close();
    await database.reset();
  });

  const consume = async (
    name: string,
    handlers: Record<string, EventHandler<TestSchema>>,
    options: {
      transport?: EventTransport;
      maxDeliver?: number;
      schemas?: Record<string, ReturnType<typeof Type.Object>>;
      afterCommit?: (event: EventEnvelope, outcome: HandleOutcome) => Promise<void>;
    } = {},
  ): Promise<Subscription> => {
    const subscription = await startConsumer(options.transport ?? harness.transport, {
      db: database.db,
      name,
      handlers,
      schemas: options.schemas,
      metrics,
      afterCommit: options.afterCommit,
      maxDeliver: options.maxDeliver ?? 5,
      backoffMs: 10,
      maxBackoffMs: 50,
      ackWaitMs: 1000,
    });
    cleanups.push(() => subscription.close());
    return subscription;
  };

  const outcomes = async (consumer: string, outcome: HandleOutcome) => {
    const { values } = await metrics.consumed.get();
    return values
      .filter((value) => value.labels.consumer === consumer && value.labels.outcome === outcome)
      .reduce((sum, value) => sum + value.value, 0);
  };

  const counter = async (name: 'redeliveries' | 'deadLetters', consumer: string) => {
    const { values } = await metrics[name].get();
    return values
      .filter((value) => value.labels.consumer === consumer)
      .reduce((sum, value) => sum + value.value, 0);
  };

  it('delivers every committed event to the consumer, each applied once', async () => {
    await consume('orders', { 'user.created': recordEffect('orders') });
    const relay = new OutboxRelay({ db: database.db, kind: database.kind, transport: harness.transport });
    cleanups.push(() => relay.stop());
    relay.start();
    const written: string[] = [];
    for (let index = 0; index < 20; index++) {
      const event = await database.db
        .transaction()
        .execute((trx) => appendEvent(trx, testEvent('user.created', `usr_${index}`, { index })));
      written.push(event.id);
      relay.wake();
    }
    const counts = await eventually('every effect', async () => {
      const effects = await database.effectCounts('orders');
      return effects.size === 20 ? effects : undefined;
    });
    expect([...counts.keys()].sort()).toEqual([...written].sort());
    expect([...counts.values()].every((count) => count === 1)).toBe(true);
  });

  it('applies the same event delivered twice only once', async () => {
    await consume('orders', { 'user.updated': recordEffect('orders') });
    const event = newEvent(testEvent('user.updated', 'usr_twice', { name: 'Ada' }));
    await harness.transport.publish([event]);
    await harness.deliverAgain(event);

    await eventually(
      'the second delivery to be seen as a duplicate',
      async () => (await outcomes('orders', 'duplicate')) === 1,
    );
    expect(await database.effectCounts('orders')).toEqual(new Map([[event.id, 1]]));
    expect(await outcomes('orders', 'handled')).toBe(1);
  });

  it('applies an event once when its consumer crashed after the effect but before the ack', async () => {
    let crashed = false;
    const first = await consume(
      'orders',
      { 'user.deleted': recordEffect('orders') },
      {
        // The effect has committed; the process dies before acknowledging (this never resolves).
        afterCommit: async () => {
          crashed = true;
          await new Promise(() => {});
        },
      },
    );
    const event = newEvent(testEvent('user.deleted', 'usr_crash'));
    const published = harness.transport.publish([event]);
    await eventually('the first instance to apply the event', () => crashed);
    await first.close();
    await published;

    // Another instance of the service takes over the durable consumer and gets the event again.
    await consume(
      'orders',
      { 'user.deleted': recordEffect('orders') },
      { transport: await harness.secondInstance() },
    );
    await eventually('the redelivery', async () => (await outcomes('orders', 'duplicate')) >= 1);
    expect(await database.effectCounts('orders')).toEqual(new Map([[event.id, 1]]));
    expect(await counter('redeliveries', 'orders')).toBeGreaterThanOrEqual(1);
  });

  it('does not stall on a delivery that hangs: it is redelivered after the ack wait and applied once', async () => {
    let hung = 0;
    await consume(
      'orders',
      { 'user.updated': recordEffect('orders') },
      {
        afterCommit: async () => {
          if (hung++ === 0) await new Promise(() => {}); // stuck after the effect, before the ack
        },
      },
    );
    const stuck = newEvent(testEvent('user.updated', 'usr_stuck'));
    const next = newEvent(testEvent('user.updated', 'usr_next'));
    await harness.transport.publish([stuck]);
    await eventually(
      'the stuck delivery to come back',
      async () => (await outcomes('orders', 'duplicate')) >= 1,
    );
    await harness.transport.publish([next]);
    await eventually('the next event', async () => (await database.effectCounts('orders')).has(next.id));
    expect(await database.effectCounts('orders')).toEqual(
      new Map([
        [stuck.id, 1],
        [next.id, 1],
      ]),
    );
  });

  it('sends a poison event to the dead letters after the configured attempts, and keeps going', async () => {
    let poisonAttempts = 0;
    const handler: EventHandler<TestSchema> = async (trx, event) => {
      if ((event.data as { poison?: boolean }).poison) {
        poisonAttempts++;
        throw new Error('cannot apply this event');
      }
      await recordEffect('orders')(trx, event);
    };
    await consume('orders', { 'order.created': handler }, { maxDeliver: 3 });
    const poison = newEvent(testEvent('order.created', 'ord_poison', { poison: true }));
    const healthy = [1, 2, 3].map((n) => newEvent(testEvent('order.created', `ord_${n}`, { n })));
    await harness.transport.publish([poison, ...healthy]);

    const letters = await eventually('the dead letter', async () => {
      const found = await harness.deadLetters('orders');
      return found.length > 0 ? found : undefined;
    });
    await eventually('the events after it', async () => (await database.effectCounts('orders')).size === 3);
    expect(letters).toEqual([{ id: poison.id, attempts: 3, error: 'cannot apply this event' }]);
    expect(poisonAttempts).toBe(3);
    const effects = await database.effectCounts('orders');
    expect([...effects.keys()].sort()).toEqual(healthy.map((event) => event.id).sort());
    expect(effects.has(poison.id)).toBe(false);
    expect(await counter('deadLetters', 'orders')).toBe(1);
    expect(await counter('redeliveries', 'orders')).toBe(2);
  });

  it("keeps retrying, past the attempts a poison event gets, while the consumer's database is unavailable", async () => {
    // As PostgreSQL answers while it restarts (SQLSTATE 57P01, then connections refused): the event is
    // not at fault, and an outage longer than the retries must not send it to the dead letters.
    let failures = 0;
    const handler: EventHandler<TestSchema> = async (trx, event) => {
      if (failures < 6) {
        failures++;
        throw Object.assign(new Error('terminating connection due to administrator command'), {
          code: failures % 2 === 0 ? '57P01' : 'ECONNREFUSED',
        });
      }
      await recordEffect('orders')(trx, event);
    };
    await consume('orders', { 'order.created': handler }, { maxDeliver: 3 });
    const event = newEvent(testEvent('order.created', 'ord_outage', {}));
    await harness.transport.publish([event]);
    await eventually('the effect', async () => (await database.effectCounts('orders')).size === 1);
    expect(failures).toBe(6);
    expect([...(await database.effectCounts('orders')).entries()]).toEqual([[event.id, 1]]);
    expect(await harness.deadLetters('orders')).toEqual([]);
    expect(await counter('deadLetters', 'orders')).toBe(0);
  });

  it('dead-letters an event whose data does not match its schema at once, without retrying', async () => {
    let calls = 0;
    await consume(
      'orders',
      {
        'user.created': async (trx, event) => {
          calls++;
          await recordEffect('orders')(trx, event);
        },
      },
      { schemas: { 'user.created': Type.Object({ email: Type.String() }) } },
    );
    const broken = newEvent(testEvent('user.created', 'usr_broken', { email: 42 }));
    const fine = newEvent(testEvent('user.created', 'usr_fine', { email: 'ada@example.com' }));
    await harness.transport.publish([broken, fine]);

    await eventually('the valid event', async () => (await database.effectCounts('orders')).has(fine.id));
    const letters = await eventually('the dead letter', async () => {
      const found = await harness.deadLetters('orders');
      return found.length > 0 ? found : undefined;
    });
    expect(letters).toEqual([
      {
        id: broken.id,
        attempts: 1,
        error: expect.stringContaining('does not match the user.created schema'),
      },
    ]);
    expect(calls).toBe(1);
  });

  it('gives each durable consumer its own copy, and skips types a consumer does not handle', async () => {
    await consume('orders', { 'user.created': recordEffect('orders') });
    await consume('mailer', {
      'user.created': recordEffect('mailer'),
      'user.deleted': recordEffect('mailer'),
    });
    const created = newEvent(testEvent('user.created', 'usr_both'));
    const deleted = newEvent(testEvent('user.deleted', 'usr_both'));
    await harness.transport.publish([created, deleted]);

    await eventually('both consumers', async () => (await database.effectCounts('mailer')).size === 2);
    await eventually('the orders consumer', async () => (await database.effectCounts('orders')).size === 1);
    expect(await database.effectCounts('orders')).toEqual(new Map([[created.id, 1]]));
  });
});
