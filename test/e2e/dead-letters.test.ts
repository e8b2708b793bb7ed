import { randomUUID } from 'node:crypto';
import { mode, natsUrl } from '@armature/testing/databases';
import { startSystem, type TestSystem } from '@armature/testing/system';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../packages/platform/src/events/test-support.ts';
import { ordersDatabase, poisonedProjection } from './poison.ts';

/**
 * Dead letters through the gateway: an event the orders service's consumer cannot handle (its
 * projection table refuses the row) ends in the dead letters; an admin finds it, replays it once the
 * cause is fixed and sees its effect once, or discards it. On the in-process bus, or on NATS
 * JetStream when `TEST_NATS_URL` is set.
 */
const transport = natsUrl ? 'NATS JetStream' : 'in-process bus';
const admin = { email: `dead-admin-${randomUUID()}@example.com`, password: 'dead letters admin password' };

let system: TestSystem;
let adminToken: string;
let memberToken: string;
let projection: ReturnType<typeof poisonedProjection>;

const call = (...args: Parameters<TestSystem['call']>) => system.call(...args);

async function signUp(name: string): Promise<{ id: string; email: string; token: string }> {
  const email = `dead-${randomUUID()}@example.com`;
  const password = 'member password 1';
  const created = await call('POST', '/v1/users', { body: { email, name, password } });
  expect(created.status).toBe(201);
  const login = await call('POST', '/v1/auth/login', { body: { email, password } });
  return { id: created.body.id, email, token: login.body.accessToken };
}

/** The orders service's dead letter for the `user.created` event of this user, once it is there. */
async function deadLetterOf(userId: string) {
  let found: { id: string; consumer: string; attempts: number; lastError: string } | undefined;
  await eventually('the event in the dead letters', async () => {
    const list = await call('GET', '/v1/services/orders/dead-letters?type=user.created', {
      token: adminToken,
    });
    expect(list.status).toBe(200);
    found = list.body.data.find(
      (item: { event: { aggregateId: string } }) => item.event.aggregateId === userId,
    );
    return found !== undefined;
  });
  return found!;
}

beforeAll(async () => {
  system = await startSystem({
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    EVENTS_MAX_DELIVER: '2',
    EVENTS_RETRY_BACKOFF_MS: '20',
  });
  projection = poisonedProjection(ordersDatabase(system.services));
  adminToken = (await call('POST', '/v1/auth/login', { body: admin })).body.accessToken;
  memberToken = (await signUp('Plain Member')).token;
});
afterAll(async () => {
  await projection?.fix().catch(() => {});
  await system?.close();
});

describe(`dead letters (${mode}, ${transport})`, () => {
  it('a poisoned event is listed with its envelope and last error, replayed after the fix, and takes effect once', async () => {
    await projection.break();
    const user = await signUp('Poison Pill');
    const deadLetter = await deadLetterOf(user.id);
    expect(deadLetter.consumer).toBe('orders');
    expect(deadLetter.attempts).toBe(2);
    expect(deadLetter.lastError).toContain('customer name refused');

    const path = `/v1/services/orders/consumers/orders/dead-letters/${deadLetter.id}`;
    const one = await call('GET', path, { token: adminToken });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      id: deadLetter.id,
      service: 'orders',
      event: { type: 'user.created', aggregateId: user.id, data: { email: user.email, name: 'Poison Pill' } },
    });

    // Replayed before the cause is fixed: it fails again and stays, with the new error counted.
    const failed = await call('POST', `${path}/replays`, { token: adminToken });
    expect(failed.status).toBe(422);
    expect(failed.body.error.code).toBe('REPLAY_FAILED');
    expect(failed.body.error.message).toContain('customer name refused');
    expect((await call('GET', path, { token: adminToken })).body.attempts).toBe(3);
    expect(await projection.customersWithEmail(user.email)).toBe(0);

    await projection.fix();
    const replayed = await call('POST', `${path}/replays`, { token: adminToken });
    expect(replayed.status).toBe(200);
    expect(replayed.body).toMatchObject({ consumer: 'orders', eventId: deadLetter.id, outcome: 'handled' });
    expect(await projection.customersWithEmail(user.email)).toBe(1);

    // Gone from the dead letters: a second replay finds nothing and changes nothing.
    expect((await call('POST', `${path}/replays`, { token: adminToken })).status).toBe(404);
    expect((await call('GET', path, { token: adminToken })).status).toBe(404);
    expect(await projection.customersWithEmail(user.email)).toBe(1);
  });

  it('a discarded dead letter is gone and its event never takes effect', async () => {
    await projection.break();
    const user = await signUp('Poison Discarded');
    const deadLetter = await deadLetterOf(user.id);
    await projection.fix();
    const path = `/v1/services/orders/consumers/orders/dead-letters/${deadLetter.id}`;
    expect((await call('DELETE', path, { token: adminToken })).status).toBe(204);
    expect((await call('GET', path, { token: adminToken })).status).toBe(404);
    expect((await call('DELETE', path, { token: adminToken })).status).toBe(404);
    const list = await call('GET', '/v1/services/orders/dead-letters?consumer=orders', { token: adminToken });
    expect(list.body.data.map((item: { id: string }) => item.id)).not.toContain(deadLetter.id);
    expect(await projection.customersWithEmail(user.email)).toBe(0);
  });

  it('only admins see or touch dead letters', async () => {
    const list = '/v1/services/orders/dead-letters';
    const replay = `/v1/services/orders/consumers/orders/dead-letters/evt_01h455vb4pex5vsknk084sn02q/replays`;
    expect((await call('GET', list)).status).toBe(401);
    expect((await call('POST', replay)).status).toBe(401);
    expect((await call('GET', list, { token: memberToken })).status).toBe(403);
    expect((await call('POST', replay, { token: memberToken })).status).toBe(403);
    expect((await call('POST', replay, { token: adminToken })).status).toBe(404);
  });

  it('each service answers for its own consumers, in both pagination styles', async () => {
    const users = await call('GET', '/v1/services/users/dead-letters', { token: adminToken });
    expect(users.status).toBe(200);
    expect(users.body.data).toEqual([]);
    expect((await call('GET', '/v1/services/nowhere/dead-letters', { token: adminToken })).status).toBe(404);

    await projection.break();
    const first = await signUp('Poison One');
    const second = await signUp('Poison Two');
    await deadLetterOf(first.id);
    await deadLetterOf(second.id);
    await projection.fix();
    const page1 = await call('GET', '/v1/services/orders/dead-letters?limit=1', { token: adminToken });
    expect(page1.body.pagination).toMatchObject({ limit: 1, hasMore: true });
    const next = await call(
      'GET',
      `/v1/services/orders/dead-letters?limit=1&cursor=${page1.body.pagination.nextCursor}`,
      {
        token: adminToken,
      },
    );
    expect(next.status).toBe(200);
    expect(next.body.data[0].id).not.toBe(page1.body.data[0].id);
    const page2 = await call('GET', '/v1/services/orders/dead-letters?limit=1&page=2', { token: adminToken });
    expect(page2.body.data[0].id).toBe(next.body.data[0].id);
    expect(
      (await call('GET', '/v1/services/orders/dead-letters?cursor=forged', { token: adminToken })).status,
    ).toBe(400);
  });
});
