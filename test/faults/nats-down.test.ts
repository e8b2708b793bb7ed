import { randomBytes } from 'node:crypto';
import { startSystem, type TestSystem } from '@armature/testing/system';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, getJson, metricValue, type OwnServer, startOwnNats, waitFor } from './support.ts';

/**
 * NATS (our own JetStream server) killed while users register: the writes still succeed, their
 * events wait in the users service's outbox (the backlog is visible on /metrics, `/health` says
 * degraded), and once NATS is back every one of them is published and handled by the orders
 * service — nothing lost, nothing handled twice.
 */

let nats: OwnServer;
let system: TestSystem;

afterAll(async () => {
  await system?.close().catch(() => undefined);
  await cleanup();
});

beforeAll(async () => {
  nats = await startOwnNats();
  system = await startSystem({
    NATS_URL: nats.url,
    EVENTS_STREAM: `FAULT_${randomBytes(4).toString('hex')}`,
  });
}, 180_000);

const scrape = async (url: string) =>
  (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
/** user.created events the orders service has handled (each once: duplicates are counted apart). */
const handled = async () =>
  metricValue(await scrape(system.services.orders.url), 'events_consumed_total', {
    type: 'user.created',
    outcome: 'handled',
  });
const backlog = async () => metricValue(await scrape(system.services.users.url), 'events_outbox_backlog');

async function register(label: string) {
  const response = await fetch(`${system.url}/v1/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email: `${label}-${randomBytes(4).toString('hex')}@example.com`,
      name: label,
      password: 'nats fault password',
    }),
    signal: AbortSignal.timeout(15_000),
  });
  return response.status;
}

describe('NATS down', () => {
  it('keeps the events in the outbox while NATS is gone and delivers every one when it returns', {
    timeout: 240_000,
  }, async () => {
    expect(await register('before')).toBe(201);
    await waitFor('the first event to be handled', async () => (await handled()) === 1);

    await nats.stop('SIGKILL');
    const degraded = await waitFor('the users service to report the bus down', async () => {
      const report = await getJson(`${system.services.users.url}/health`);
      return report?.body?.checks?.bus?.status === 'down' ? report : undefined;
    });
    expect(degraded.status).toBe(200);
    expect(degraded.body.status).toBe('degraded');

    const during = 5;
    for (let i = 0; i < during; i++) expect(await register(`during-${i}`)).toBe(201);
    // The events are held, not dropped: the backlog shows them, and none reached the consumer.
    await waitFor(`a backlog of ${during} events`, async () => (await backlog()) === during);
    expect(await handled()).toBe(1);

    await nats.start();
    await waitFor('the outbox to drain', async () => (await backlog()) === 0, {
      timeoutMs: 90_000,
      intervalMs: 250,
    });
    await waitFor(`all ${1 + during} events to be handled`, async () => (await handled()) === 1 + during, {
      timeoutMs: 90_000,
      intervalMs: 250,
    });
    await waitFor(
      'the bus check to be up again',
      async () => (await getJson(`${system.services.users.url}/health`))?.body?.status === 'healthy',
      {
        timeoutMs: 60_000,
      },
    );
    const orders = await scrape(system.services.orders.url);
    expect(metricValue(orders, 'events_dead_letters_total')).not.toBeGreaterThan(0);
    expect(await handled()).toBe(1 + during);
  });
});
