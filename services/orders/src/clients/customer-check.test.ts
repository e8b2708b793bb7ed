import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Database, newUuid, openDatabase } from '@armature/platform';
import { freshStore, mode, type TestStore } from '@armature/testing/databases';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyCustomer } from '../db/customers.ts';
import { migrationsFolder } from '../db/migrations.ts';
import type { OrdersDatabase } from '../db/schema.ts';
import { CustomerCheck } from './customer-check.ts';

/**
 * The customer check before checkout, against real HTTP servers standing in for the users service
 * (one answering with a chosen status, one that never answers) and a dead port, with the real
 * customers projection behind it.
 */
let store: TestStore;
let database: Database<OrdersDatabase>;
let answering: Server;
let silent: Server;
let status = 200;
let answeredRequests = 0;
let silentRequests = 0;

const listening = async (server: Server) => {
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

beforeAll(async () => {
  store = await freshStore('orders');
  database = await openDatabase<OrdersDatabase>({
    service: 'orders',
    url: store.url,
    dataDir: store.dataDir,
    migrationsFolder,
  });
  answering = createServer((_request, response) => {
    answeredRequests++;
    response.writeHead(status).end();
  });
  silent = createServer(() => {
    silentRequests++; // and never answer
  });
});
afterAll(async () => {
  answering.closeAllConnections();
  silent.closeAllConnections();
  await Promise.all([
    new Promise((resolve) => answering.close(resolve)),
    new Promise((resolve) => silent.close(resolve)),
  ]);
  await database.close();
  await store.drop();
});

function check(
  usersUrl: string,
  options: { failureThreshold?: number; timeoutMs?: number; rememberMs?: number; now?: () => number } = {},
) {
  const warnings: string[] = [];
  const registry = new Registry();
  const customers = new CustomerCheck({
    db: database.db,
    usersUrls: [usersUrl],
    timeoutMs: options.timeoutMs ?? 5000,
    failureThreshold: options.failureThreshold ?? 100,
    halfOpenAfterMs: 60_000,
    rememberMs: options.rememberMs ?? 0,
    now: options.now,
    registry,
    log: {
      debug: () => {},
      info: () => {},
      error: () => {},
      warn: (_details, message) => void warnings.push(message),
    },
  });
  const fallbacks = async (reason: string) =>
    (await customers.fallbacks.get()).values.find((value) => value.labels.reason === reason)?.value ?? 0;
  return { customers, warnings, fallbacks, registry };
}

async function customer(state: 'active' | 'deleted'): Promise<string> {
  const id = newUuid();
  await applyCustomer(database.db, { id, email: 'c@example.com', name: 'C', status: state, version: 1 });
  return id;
}

describe(`the customer check before checkout (${mode})`, () => {
  it('takes the users service’s answer while it answers', async () => {
    const { customers } = check(await listening(answering));
    const deletedInProjection = await customer('deleted');
    status = 200;
    // The users service is the authority: its answer wins over a projection lagging behind.
    await expect(customers.assertActive(deletedInProjection, 'Bearer t')).resolves.toBe('users');
    status = 404;
    await expect(customers.assertActive(newUuid(), 'Bearer t')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    status = 401;
    await expect(customers.assertActive(newUuid(), 'Bearer t')).rejects.toMatchObject({
      code: 'INVALID_TOKEN',
    });
  });

  it('falls back to the projection when the users service is unreachable, and says so', async () => {
    const { customers, warnings, fallbacks, registry } = check('http://127.0.0.1:9');
    await expect(customers.assertActive(await customer('active'), 'Bearer t')).resolves.toBe('projection');
    // Nothing known yet: the verified token vouches for the user.
    await expect(customers.assertActive(newUuid(), 'Bearer t')).resolves.toBe('projection');
    await expect(customers.assertActive(await customer('deleted'), 'Bearer t')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await fallbacks('error')).toBe(3);
    expect(warnings).toEqual([
      'users service did not confirm the customer; checked against the customers projection instead',
    ]);
    expect(await registry.metrics()).toContain('orders_customer_check_fallbacks_total{reason="error"} 3');
  });

  it('gives up on a users service that does not answer in time, then stops calling it', async () => {
    const { customers, fallbacks } = check(await listening(silent), { failureThreshold: 2, timeoutMs: 100 });
    const id = await customer('active');
    await expect(customers.assertActive(id, 'Bearer t')).resolves.toBe('projection');
    await expect(customers.assertActive(id, 'Bearer t')).resolves.toBe('projection');
    expect(await fallbacks('timeout')).toBe(2);
    expect(customers.breakerState).toBe('open');

    const calls = silentRequests;
    await expect(customers.assertActive(id, 'Bearer t')).resolves.toBe('projection');
    expect(await fallbacks('circuit_open')).toBe(1);
    expect(silentRequests).toBe(calls);
  });

  it('takes the users service’s "active" for a second for the same user and token, and asks again after', async () => {
    let now = 1_000_000;
    const { customers, registry } = check(await listening(answering), { rememberMs: 1000, now: () => now });
    const id = await customer('active');
    status = 200;
    const asked = answeredRequests;
    await expect(customers.assertActive(id, 'Bearer t')).resolves.toBe('users');
    now += 999;
    await expect(customers.assertActive(id, 'Bearer t')).resolves.toBe('remembered');
    expect(answeredRequests).toBe(asked + 1);
    // Another token (an admin acting for the user) is asked about on its own.
    await expect(customers.assertActive(id, 'Bearer admin')).resolves.toBe('users');
    expect(answeredRequests).toBe(asked + 2);
    now += 1;
    status = 404;
    await expect(customers.assertActive(id, 'Bearer t')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // A refusal is not remembered: the next checkout asks again.
    await expect(customers.assertActive(id, 'Bearer t')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(answeredRequests).toBe(asked + 4);
    expect(await registry.metrics()).toContain(
      'orders_customer_checks_total{source="remembered",outcome="active"} 1',
    );
    status = 200;
  });
});
