import { mode } from '@armature/testing/databases';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../server.ts';
import { readEventsConfig } from './config.ts';
import { startConsumer } from './consumer.ts';
import { EventMetrics } from './metrics.ts';
import { NatsTransport } from './nats-transport.ts';
import { appendEvent } from './outbox.ts';
import { OutboxRelay } from './relay.ts';
import { startEvents } from './runtime.ts';
import {
  eventsDatabase,
  eventually,
  OwnNatsServer,
  recordEffect,
  type TestDatabase,
  testEvent,
  uniqueStream,
} from './test-support.ts';

/**
 * NATS going away and coming back, on a nats-server of the test's own (the machine's shared server
 * is never stopped). Its store survives the restart, as a production server's does.
 */
let server: OwnNatsServer;
let database: TestDatabase;
beforeAll(async () => {
  [server, database] = await Promise.all([OwnNatsServer.create(), eventsDatabase('nats-outage')]);
});
afterAll(async () => {
  await server.destroy();
  await database.drop();
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await server.start().catch(() => {}); // already running unless a test failed midway
  await database.reset();
});

async function gaugeValue(metrics: EventMetrics, name: string): Promise<number | undefined> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return metric?.values[0]?.value;
}

async function publisherAndConsumer(stream: string) {
  const metrics = new EventMetrics();
  const publisher = new NatsTransport({ url: server.url, stream, name: 'users', metrics });
  const consumerSide = new NatsTransport({ url: server.url, stream, name: 'orders' });
  const relay = new OutboxRelay({
    db: database.db,
    kind: database.kind,
    transport: publisher,
    metrics,
    backoffMs: 50,
    maxBackoffMs: 400,
  });
  const subscription = await startConsumer(consumerSide, {
    db: database.db,
    name: 'orders',
    handlers: { 'user.created': recordEffect('orders') },
    backoffMs: 10,
    ackWaitMs: 2000,
  });
  cleanups.push(async () => {
    await relay.stop();
    await subscription.close();
    await Promise.all([publisher.close(), consumerSide.close()]);
  });
  return { metrics, publisher, relay };
}

const write = async (count: number, from: number) => {
  for (let index = from; index < from + count; index++) {
    await database.db
      .transaction()
      .execute((trx) => appendEvent(trx, testEvent('user.created', `usr_${index}`)));
  }
};

const everyEffectOnce = async (count: number) => {
  const effects = await eventually(
    `${count} effects`,
    async () => {
      const found = await database.effectCounts('orders');
      return found.size === count ? found : undefined;
    },
    20_000,
  );
  expect([...effects.values()].every((n) => n === 1)).toBe(true);
};

describe(`NATS down and back (${mode})`, () => {
  it('keeps events in the outbox while NATS is down and delivers each once after it returns', async () => {
    const { metrics, publisher, relay } = await publisherAndConsumer(uniqueStream('outage'));
    relay.start();
    await write(10, 0);
    relay.wake();
    await everyEffectOnce(10);

    await server.stop();
    await eventually('the publisher to notice', () => !publisher.connected);
    await write(20, 10); // the writes keep succeeding: they only touch the database
    relay.wake();
    await eventually(
      'a failed publish',
      async () => ((await metrics.publishFailures.get()).values[0]?.value ?? 0) > 0,
    );
    expect((await relay.state()).backlog).toBe(20);
    expect(await gaugeValue(metrics, 'events_outbox_backlog')).toBe(20);
    expect(await gaugeValue(metrics, 'events_relay_lag_seconds')).toBeGreaterThan(0);
    await expect(publisher.check()).rejects.toThrow();

    await server.start();
    await everyEffectOnce(30);
    await eventually('the outbox to drain', async () => (await relay.state()).backlog === 0);
    await publisher.check();
  });

  it('starts while NATS is unreachable, holds the events, and delivers them once NATS is up', async () => {
    await server.stop();
    const { relay } = await publisherAndConsumer(uniqueStream('late'));
    relay.start();
    await write(5, 0);
    relay.wake();
    await eventually('a failed attempt to relay', async () => (await relay.state()).backlog === 5, 45_000);

    await server.start();
    await everyEffectOnce(5);
  });

  it('reports the bus down as degraded, not unhealthy, and up again once NATS returns', async () => {
    await server.stop();
    const app = createServer({ service: 'users', logLevel: 'silent' });
    cleanups.push(() => app.close());
    const config = readEventsConfig({ NATS_URL: server.url, EVENTS_STREAM: uniqueStream('health') });
    await startEvents(app, { service: 'users', database, config });

    const down = await app.inject({ method: 'GET', url: '/health' });
    expect(down.statusCode).toBe(200);
    expect(down.json()).toMatchObject({ status: 'degraded', checks: { bus: { status: 'down' } } });

    await server.start();
    const up = await eventually('the bus check to pass', async () => {
      const response = await app.inject({ method: 'GET', url: '/health' });
      return response.json().checks.bus.status === 'up' ? response : undefined;
    });
    expect(up.json().status).toBe('healthy');
  });

  it('connects through a list of servers, passing over one that does not answer', async () => {
    const config = readEventsConfig({
      NATS_URL: `nats://127.0.0.1:1, ${server.url}`,
      EVENTS_STREAM: uniqueStream('servers'),
    });
    expect(config.natsUrl).toBe(`nats://127.0.0.1:1,${server.url}`);
    const app = createServer({ service: 'users', logLevel: 'silent' });
    cleanups.push(() => app.close());
    await startEvents(app, { service: 'users', database, config });
    const up = await eventually('the bus check to pass', async () => {
      const response = await app.inject({ method: 'GET', url: '/health' });
      return response.json().checks.bus.status === 'up' ? response : undefined;
    });
    expect(up.json().status).toBe('healthy');
  });

  it('refuses a list with a server that is not a NATS URL, naming the setting', () => {
    expect(() => readEventsConfig({ NATS_URL: `${server.url},http://127.0.0.1:4222` })).toThrow(/NATS_URL/);
  });
});
