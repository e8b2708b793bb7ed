import { mode } from '@armature/testing/databases';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../server.ts';
import { readEventsConfig } from './config.ts';
import type { EventEnvelope } from './envelope.ts';
import { sharedInProcessBus } from './in-process-bus.ts';
import { appendEvent } from './outbox.ts';
import { startEvents } from './runtime.ts';
import { eventsDatabase, eventually, type TestDatabase, uniqueStream } from './test-support.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await eventsDatabase('events-runtime');
});
afterAll(() => database.drop());

describe(`events wired into a service (${mode})`, () => {
  it('publishes a write request’s event right after the answer, with the request’s trace, and so on down the chain', async () => {
    const stream = uniqueStream('runtime');
    // The safety-net poll is ten minutes away: only the wake-ups can deliver within the test.
    const config = readEventsConfig({ EVENTS_STREAM: stream, OUTBOX_POLL_INTERVAL_MS: '600000' });
    const app = createServer({ service: 'users', logLevel: 'silent' });
    app.post('/things', async (_request, reply) => {
      await database.db
        .transaction()
        .execute((trx) => appendEvent(trx, { type: 'user.created', aggregateId: 'usr_traced', data: {} }));
      return reply.code(201).send({});
    });
    await startEvents(app, {
      service: 'users',
      database,
      config,
      consumers: [
        {
          name: 'reactor',
          // Handling one event writes another, in the handler's transaction.
          handlers: {
            'user.created': async (trx, event) =>
              void (await appendEvent(trx, {
                type: 'order.cancelled',
                aggregateId: 'ord_x',
                data: { cause: event.id },
              })),
          },
        },
      ],
    });
    const observer = sharedInProcessBus(stream);
    const seen: EventEnvelope[] = [];
    await observer.subscribe({
      durable: 'observer',
      types: ['user.created', 'order.cancelled'],
      handle: async (event) => void seen.push(event),
      maxDeliver: 1,
      backoffMs: 1,
      maxBackoffMs: 1,
      ackWaitMs: 1000,
    });

    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const response = await app.inject({ method: 'POST', url: '/things', headers: { traceparent } });
    expect(response.statusCode).toBe(201);

    await eventually('the event and the one it caused', () => seen.length === 2);
    const [created, cancelled] = seen;
    // The caller's trace all the way down, each event continuing from the span that wrote it (the
    // request's, then the consumer's: tracing is on, into the span store, by default).
    const sameTrace = /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/;
    expect(created).toMatchObject({ type: 'user.created', traceparent: expect.stringMatching(sameTrace) });
    expect(cancelled).toMatchObject({
      type: 'order.cancelled',
      traceparent: expect.stringMatching(sameTrace),
      data: { cause: created!.id },
    });
    expect(cancelled!.traceparent).not.toBe(created!.traceparent);

    await app.close();
    await observer.close();
  });
});
