import { mode } from '@armature/testing/databases';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../errors.ts';
import { CursorCodec } from '../http/cursor.ts';
import type { EventEnvelope } from './envelope.ts';
import { listEvents } from './event-log.ts';
import { InProcessBus } from './in-process-bus.ts';
import { appendEvent, appendEvents, eventsInsert } from './outbox.ts';
import { OutboxRelay, uuidv7Floor } from './relay.ts';
import { eventsDatabase, eventually, type TestDatabase, testEvent } from './test-support.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await eventsDatabase('outbox');
});
afterAll(() => database.drop());

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await database.reset();
});

async function setup(relayOptions: { pollIntervalMs?: number; batchSize?: number } = {}) {
  const bus = new InProcessBus();
  const received: EventEnvelope[] = [];
  const subscription = await bus.subscribe({
    durable: 'observer',
    types: ['order.created', 'order.updated', 'user.created'],
    handle: async (event) => void received.push(event),
    maxDeliver: 3,
    backoffMs: 5,
    maxBackoffMs: 20,
    ackWaitMs: 1000,
  });
  const relay = new OutboxRelay({ db: database.db, kind: database.kind, transport: bus, ...relayOptions });
  cleanups.push(async () => {
    await relay.stop();
    await subscription.close();
    await bus.close();
  });
  return { bus, relay, received };
}

const unpublished = () =>
  database.db.selectFrom('outbox').select('seq').where('published_at', 'is', null).execute();

describe(`transactional outbox (${mode})`, () => {
  it('publishes an event once its transaction commits, and never one whose transaction rolled back', async () => {
    const { relay, received } = await setup();
    relay.start();
    const committed = await database.db
      .transaction()
      .execute((trx) => appendEvent(trx, testEvent('order.created', 'ord_kept')));
    await expect(
      database.db.transaction().execute(async (trx) => {
        await appendEvent(trx, testEvent('order.created', 'ord_rolled_back'));
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    relay.wake();

    await eventually('the committed event', () => received.length === 1);
    await relay.idle();
    expect(received.map((event) => event.aggregateId)).toEqual(['ord_kept']);
    expect(received[0]).toMatchObject({
      id: committed.id,
      type: 'order.created',
      version: 1,
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
    });
    expect(received[0]!.id).toMatch(/^evt_[0-7][0-9a-hjkmnp-tv-z]{25}$/);
    expect(await unpublished()).toEqual([]);
  });

  it('publishes the events of each aggregate in the order they were written, across batches', async () => {
    const { relay, received } = await setup({ batchSize: 7 });
    const aggregates = ['ord_a', 'ord_b', 'ord_c', 'ord_d', 'ord_e'];
    // Concurrent writers, each its own transaction: an aggregate's events in the order they commit.
    await Promise.all(
      aggregates.map(async (aggregateId) => {
        for (let step = 1; step <= 12; step++) {
          await database.db
            .transaction()
            .execute((trx) => appendEvent(trx, testEvent('order.updated', aggregateId, { step })));
        }
      }),
    );
    relay.start();
    await eventually('every event', () => received.length === 60);
    for (const aggregateId of aggregates) {
      const steps = received
        .filter((event) => event.aggregateId === aggregateId)
        .map((event) => (event.data as { step: number }).step);
      expect(steps).toEqual(Array.from({ length: 12 }, (_, index) => index + 1));
    }
  });

  it('is woken by a commit: the event goes out without waiting for the poll', async () => {
    const { relay, received } = await setup({ pollIntervalMs: 3_600_000 });
    relay.start();
    await relay.idle();
    await database.db.transaction().execute((trx) => appendEvent(trx, testEvent('user.created', 'usr_new')));
    relay.wake();
    await eventually('the event, long before the hourly poll', () => received.length === 1);
  });

  it('writes several events in one statement, with one timestamp', async () => {
    await setup();
    const events = await database.db
      .transaction()
      .execute((trx) =>
        appendEvents(trx, [testEvent('order.created', 'ord_1'), testEvent('order.updated', 'ord_1')]),
      );
    const rows = await database.db
      .selectFrom('outbox')
      .select(['type', 'aggregate_id'])
      .orderBy('seq')
      .execute();
    expect(rows).toEqual([
      { type: 'order.created', aggregate_id: 'ord_1' },
      { type: 'order.updated', aggregate_id: 'ord_1' },
    ]);
    expect(new Set(events.map((event) => event.timestamp)).size).toBe(1);
    expect(new Set(events.map((event) => event.id)).size).toBe(2);
  });

  it('lets an event ride in the writer’s own statement, as a CTE, and publishes it like any other', async () => {
    const { relay, received } = await setup();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const { events, statement } = eventsInsert([
      testEvent('order.created', 'ord_cte', { total: { amount: 999, currency: 'EUR' } }),
      { ...testEvent('order.updated', 'ord_cte', { step: 2 }), traceparent },
    ]);
    await database.db.transaction().execute(async (trx) => {
      await sql`with changed as (
          insert into effects (event_id, consumer, aggregate_id) values ('-', 'writer', 'ord_cte') returning 1
        ), events as (${statement})
        select count(*) from changed`.execute(trx);
    });
    relay.start();
    await eventually('both events', () => received.length === 2);
    expect(received).toEqual(events);
    expect(received[1]!.traceparent).toBe(traceparent);
  });

  it('prunes published rows and inbox entries past their retention, never unpublished rows', async () => {
    const bus = new InProcessBus();
    const relay = new OutboxRelay({
      db: database.db,
      kind: database.kind,
      transport: bus,
      retentionMs: 3_600_000,
      inboxRetentionMs: 3_600_000,
    });
    await database.db.transaction().execute((trx) => appendEvent(trx, testEvent('order.created', 'ord_old')));
    await database.db
      .updateTable('outbox')
      .set({ published_at: new Date(), occurred_at: new Date(Date.now() - 2 * 3_600_000) })
      .where('aggregate_id', '=', 'ord_old')
      .execute();
    await database.db
      .transaction()
      .execute((trx) => appendEvent(trx, testEvent('order.created', 'ord_old_unpublished')));
    await database.db
      .updateTable('outbox')
      .set({ occurred_at: new Date(Date.now() - 2 * 3_600_000) })
      .where('aggregate_id', '=', 'ord_old_unpublished')
      .execute();
    await database.db
      .transaction()
      .execute((trx) => appendEvent(trx, testEvent('order.created', 'ord_recent')));
    await database.db
      .updateTable('outbox')
      .set({ published_at: new Date() })
      .where('aggregate_id', '=', 'ord_recent')
      .execute();
    const oldInboxId = uuidv7Floor(Date.now() - 2 * 3_600_000).replace(/0{12}$/, '000000000001');
    const recentInboxId = uuidv7Floor(Date.now()).replace(/0{12}$/, '000000000001');
    await database.db
      .insertInto('inbox')
      .values([
        { event_id: oldInboxId, consumer: 'c', event_type: 'user.created' },
        { event_id: recentInboxId, consumer: 'c', event_type: 'user.created' },
      ])
      .execute();

    expect(await relay.prune()).toEqual({ outbox: 1, inbox: 1 });
    const left = await database.db.selectFrom('outbox').select('aggregate_id').orderBy('seq').execute();
    expect(left.map((row) => row.aggregate_id)).toEqual(['ord_old_unpublished', 'ord_recent']);
    const inbox = await database.db.selectFrom('inbox').select('event_id').execute();
    expect(inbox.map((row) => row.event_id)).toEqual([recentInboxId]);
    await bus.close();
  });
});

describe(`recent events from the outbox (${mode})`, () => {
  it('lists newest first, filtered by type and aggregate, on both paginations', async () => {
    const cursors = new CursorCodec('test-secret');
    for (let index = 0; index < 25; index++) {
      await database.db
        .transaction()
        .execute((trx) =>
          appendEvent(
            trx,
            testEvent(index % 5 === 0 ? 'order.created' : 'order.updated', `ord_${index % 3}`, { index }),
          ),
        );
    }

    const first = await listEvents(database.db, { limit: 10 }, cursors);
    expect(first.pagination).toMatchObject({ total: 25, page: 1, limit: 10, hasMore: true });
    expect(first.data.map((event) => (event.data as { index: number }).index)).toEqual([
      24, 23, 22, 21, 20, 19, 18, 17, 16, 15,
    ]);

    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await listEvents(database.db, { limit: 4, type: 'order.updated', cursor }, cursors);
      seen.push(...page.data.map((event) => (event.data as { index: number }).index));
      expect(page.data.every((event) => event.type === 'order.updated')).toBe(true);
      cursor = page.pagination.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => 24 - i).filter((i) => i % 5 !== 0));

    const third = await listEvents(database.db, { limit: 10, page: 3 }, cursors);
    expect(third.data.map((event) => (event.data as { index: number }).index)).toEqual([4, 3, 2, 1, 0]);
    expect(third.pagination.hasMore).toBe(false);

    const one = await listEvents(database.db, { aggregateId: 'ord_1', limit: 100 }, cursors);
    expect(one.pagination.total).toBe(8);
    expect(one.data.every((event) => event.aggregateId === 'ord_1')).toBe(true);

    const other = await listEvents(database.db, { limit: 4, type: 'order.updated' }, cursors);
    const tampered = `${other.pagination.nextCursor!.slice(0, -1)}x`;
    await expect(listEvents(database.db, { limit: 4, cursor: tampered }, cursors)).rejects.toBeInstanceOf(
      ApiError,
    );
    // A cursor is bound to its filters: reused on another list it is refused, never a wrong page.
    await expect(
      listEvents(database.db, { limit: 4, cursor: other.pagination.nextCursor! }, cursors),
    ).rejects.toMatchObject({ code: 'INVALID_CURSOR' });
  });
});

describe(`relays of several instances on one database (${mode})`, () => {
  it('publish each event once, in order', async () => {
    const bus = new InProcessBus();
    const received: EventEnvelope[] = [];
    const subscription = await bus.subscribe({
      durable: 'observer',
      types: ['order.updated'],
      handle: async (event) => void received.push(event),
      maxDeliver: 3,
      backoffMs: 5,
      maxBackoffMs: 20,
      ackWaitMs: 1000,
    });
    const relays = [1, 2, 3].map(
      () =>
        new OutboxRelay({
          db: database.db,
          kind: database.kind,
          transport: bus,
          batchSize: 5,
          pollIntervalMs: 50,
        }),
    );
    for (const relay of relays) relay.start();
    for (let step = 1; step <= 60; step++) {
      await database.db
        .transaction()
        .execute((trx) => appendEvent(trx, testEvent('order.updated', `ord_${step % 4}`, { step })));
      relays[step % 3]!.wake();
    }
    await eventually('every event', () => received.length >= 60);
    await Promise.all(relays.map((relay) => relay.stop()));
    await subscription.close();
    await bus.close();
    expect(received.map((event) => (event.data as { step: number }).step)).toEqual(
      Array.from({ length: 60 }, (_, index) => index + 1),
    );
  });
});
