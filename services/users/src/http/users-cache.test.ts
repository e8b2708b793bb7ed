import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdmin } from '@armature/cli/users-commands';
import { deleteRedisPrefix, type OwnRedis, startOwnRedis } from '@armature/platform/cache/testing';
import type { TestStore } from '@armature/testing/databases';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOnStore, startTestUsers, type TestUsers } from '../testing.ts';

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefixes: string[] = [];
/** Redis under a prefix no other suite uses; its keys are deleted at the end. */
const redisEnv = () => {
  const prefix = `test:users:${randomBytes(6).toString('hex')}:`;
  prefixes.push(prefix);
  return { REDIS_URL: redisUrl, CACHE_KEY_PREFIX: prefix };
};
afterAll(async () => {
  for (const prefix of prefixes) await deleteRedisPrefix(redisUrl, prefix);
});

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Counts the service's database reads of one user (every one goes through `context.loadUser`). */
function countUserReads(users: TestUsers): { reads: number } {
  const counter = { reads: 0 };
  const load = users.service.context.loadUser;
  users.service.context.loadUser = (id) => {
    counter.reads++;
    return load(id);
  };
  return counter;
}

describe.each([
  ['in-process', () => ({})],
  ['Redis', redisEnv],
])('GET /v1/users/{id} from the cache (%s)', (_mode, env) => {
  let users: TestUsers;
  let admin: string;
  beforeAll(async () => {
    users = await startTestUsers('users-cache', env());
    admin = await users.adminToken();
  });
  afterAll(() => users?.close());

  it('answers MISS then HIT with the same body, and 304 without a body for the ETag it sent', async () => {
    const member = await users.member();
    const first = await users.call('GET', '/v1/users/me', { token: member.accessToken });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(first.headers.get('etag')).toBe(`"${member.version}"`);
    expect(first.body).toMatchObject({ id: member.id, email: member.email, version: member.version });

    const second = await users.call('GET', `/v2/users/${member.id}`, { token: member.accessToken });
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));

    const unchanged = await users.call('GET', '/v1/users/me', {
      token: member.accessToken,
      headers: { 'if-none-match': first.headers.get('etag')! },
    });
    expect(unchanged.status).toBe(304);
    expect(unchanged.body).toBeUndefined();
    expect(unchanged.headers.get('etag')).toBe(first.headers.get('etag'));
  });

  it('serves the change at once after PATCH, PUT and DELETE', async () => {
    const member = await users.member();
    const read = () => users.call('GET', '/v1/users/me', { token: member.accessToken });
    const etag = (await read()).headers.get('etag')!;
    expect((await read()).headers.get('x-cache')).toBe('HIT');

    const patched = await users.call('PATCH', '/v1/users/me', {
      token: member.accessToken,
      body: { name: 'Grace' },
    });
    expect(patched.status).toBe(200);
    const afterPatch = await users.call('GET', '/v1/users/me', {
      token: member.accessToken,
      headers: { 'if-none-match': etag },
    });
    expect(afterPatch.status).toBe(200);
    expect(afterPatch.headers.get('x-cache')).toBe('MISS');
    expect(afterPatch.body).toMatchObject({ name: 'Grace', version: member.version + 1 });
    expect(afterPatch.headers.get('etag')).not.toBe(etag);

    const replaced = await users.call('PUT', `/v1/users/${member.id}`, {
      token: admin,
      body: { email: member.email, name: 'Grace Hopper' },
    });
    expect(replaced.status).toBe(200);
    expect((await read()).body.name).toBe('Grace Hopper');

    expect((await users.call('DELETE', '/v1/users/me', { token: member.accessToken })).status).toBe(204);
    expect((await users.call('GET', `/v1/users/${member.id}`, { token: admin })).status).toBe(404);
    // The token's user is gone: the per-request check reads the same cache and refuses it.
    expect((await read()).status).toBe(401);
  });

  it('still checks access on every request: a cached user is no one else’s to read', async () => {
    const [owner, other] = [await users.member(), await users.member()];
    const path = `/v1/users/${owner.id}`;
    expect((await users.call('GET', path, { token: owner.accessToken })).status).toBe(200);
    expect((await users.call('GET', path, { token: owner.accessToken })).headers.get('x-cache')).toBe('HIT');
    const refused = await users.call('GET', path, { token: other.accessToken });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('x-cache')).toBeNull();
    expect((await users.call('GET', path)).status).toBe(401);
    const byAdmin = await users.call('GET', path, { token: admin });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.headers.get('x-cache')).toBe('HIT');
  });

  it('sees a role change at once: a promoted member’s admin token works, a demoted one’s does not', async () => {
    const member = await users.member();
    expect((await users.call('GET', '/v1/users/me', { token: member.accessToken })).status).toBe(200);
    const promote = await users.call('PATCH', `/v1/users/${member.id}`, {
      token: admin,
      body: { role: 'admin' },
    });
    expect(promote.status).toBe(200);
    const asAdmin = (await users.login(member.email, member.password)).accessToken;
    expect((await users.call('GET', '/v1/users?limit=1', { token: asAdmin })).status).toBe(200);

    const demote = await users.call('PATCH', `/v1/users/${member.id}`, {
      token: admin,
      body: { role: 'member' },
    });
    expect(demote.status).toBe(200);
    expect((await users.call('GET', '/v1/users?limit=1', { token: asAdmin })).status).toBe(401);
  });

  it('reads the database once for 100 concurrent GETs of a user not yet cached', async () => {
    const member = await users.member();
    const counter = countUserReads(users);
    const replies = await Promise.all(
      Array.from({ length: 100 }, () => users.call('GET', '/v1/users/me', { token: member.accessToken })),
    );
    expect(replies.map((reply) => reply.status)).toEqual(Array(100).fill(200));
    expect(new Set(replies.map((reply) => reply.body.id))).toEqual(new Set([member.id]));
    expect(counter.reads).toBe(1);
  });

  it('reports the cache in /health', async () => {
    const health = await users.call('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body.checks.cache).toMatchObject({ status: 'up' });
  });
});

/**
 * Several instances need one database they all reach, which only PostgreSQL is: these suites use the
 * test PostgreSQL (`TEST_POSTGRES_URL`, else the local server) whatever the pass.
 */
const postgresAdminUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresAdminUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function freshPostgres(): Promise<TestStore> {
  const name = `armature_users_cache_${randomBytes(4).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'armature-users-cache-'));
  return {
    url: url.toString(),
    dataDir,
    async drop() {
      await adminQuery(`drop database if exists ${name} with (force)`);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

describe('two instances of the users service sharing Redis', () => {
  let store: TestStore;
  let one: TestUsers;
  let two: TestUsers;
  let env: Record<string, string>;
  beforeAll(async () => {
    store = await freshPostgres();
    env = redisEnv();
    one = await startOnStore(store, env);
    two = await startOnStore(store, env);
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
    await store?.drop();
  });

  it('serve an update made through one at once through the other', async () => {
    const member = await one.member();
    const readTwo = () => two.call('GET', '/v1/users/me', { token: member.accessToken });
    expect((await readTwo()).headers.get('x-cache')).toBe('MISS');
    const cached = await one.call('GET', '/v1/users/me', { token: member.accessToken });
    expect(cached.headers.get('x-cache')).toBe('HIT');

    const patched = await one.call('PATCH', '/v1/users/me', {
      token: member.accessToken,
      body: { name: 'Ada' },
    });
    expect(patched.status).toBe(200);
    const seen = await readTwo();
    expect(seen.body.name).toBe('Ada');
    expect(seen.headers.get('etag')).toBe(patched.headers.get('etag'));
    expect((await readTwo()).headers.get('x-cache')).toBe('HIT');

    expect((await one.call('DELETE', '/v1/users/me', { token: member.accessToken })).status).toBe(204);
    expect((await readTwo()).status).toBe(401);
  });

  it('make a member promoted by ADMIN_EMAIL at a third instance’s start an admin at once', async () => {
    const member = await one.member();
    expect((await two.call('GET', '/v1/users/me', { token: member.accessToken })).body.role).toBe('member');
    const three = await startOnStore(store, {
      ...env,
      ADMIN_EMAIL: member.email,
      ADMIN_PASSWORD: member.password,
    });
    await three.close();
    const asAdmin = (await one.login(member.email, member.password)).accessToken;
    expect((await two.call('GET', '/v1/users?limit=1', { token: asAdmin })).status).toBe(200);
    expect((await two.call('GET', '/v1/users/me', { token: asAdmin })).body.role).toBe('admin');
  });

  it('make a member promoted by `armature create-admin` an admin at once', async () => {
    const member = await one.member();
    expect((await two.call('GET', '/v1/users/me', { token: member.accessToken })).body.role).toBe('member');
    const line = await createAdmin(['--email', member.email, '--password', 'unused-password'], {
      ...env,
      USERS_DATABASE_URL: store.url,
      DATA_DIR: store.dataDir,
    });
    expect(line).toBe(`${member.email}: promoted to admin (password unchanged)`);
    const asAdmin = (await one.login(member.email, member.password)).accessToken;
    expect((await two.call('GET', '/v1/users?limit=1', { token: asAdmin })).status).toBe(200);
  });
});

describe('the users service while Redis stops and starts again', () => {
  let redis: OwnRedis;
  let users: TestUsers;
  beforeAll(async () => {
    redis = await startOwnRedis();
    users = await startTestUsers('users-cache-outage', {
      REDIS_URL: redis.url,
      CACHE_REDIS_TIMEOUT_MS: '100',
    });
  });
  afterAll(async () => {
    await users?.close();
    await redis?.dispose();
  });

  it('answers every request from the database meanwhile, then serves hits with fresh data', async () => {
    const member = await users.member();
    const read = () => users.call('GET', '/v1/users/me', { token: member.accessToken });
    await read();
    expect((await read()).headers.get('x-cache')).toBe('HIT');

    await redis.stop();
    for (let i = 0; i < 10; i++) {
      const reply = await read();
      expect(reply.status).toBe(200);
      expect(reply.headers.get('x-cache')).toBe('MISS');
    }
    const patched = await users.call('PATCH', '/v1/users/me', {
      token: member.accessToken,
      body: { name: 'Offline' },
    });
    expect(patched.status).toBe(200);
    expect((await read()).body.name).toBe('Offline');
    await eventually(async () => {
      const health = await users.call('GET', '/health');
      return health.body.status === 'degraded' && health.body.checks.cache.status === 'down';
    }, '/health reports the cache down');
    expect((await users.call('GET', '/health')).status).toBe(200);

    await redis.start();
    await eventually(async () => {
      const reply = await read();
      expect(reply.status).toBe(200);
      expect(reply.body.name).toBe('Offline');
      return reply.headers.get('x-cache') === 'HIT';
    }, 'hits resume');
    await eventually(async () => (await users.call('GET', '/health')).body.status === 'healthy', 'healthy');
  });
});
