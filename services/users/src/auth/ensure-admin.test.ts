import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freshStore, type TestStore } from '@armature/testing/databases';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin } from '../../../../packages/cli/src/users-commands.ts';
import { openUsersDatabase } from '../db/database.ts';
import { findCredentials } from '../db/users.ts';
import { adminAccount, startOnStore, startTestUsers, type TestUsers } from '../testing.ts';
import { ensureAdmin } from './ensure-admin.ts';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../../../packages/cli/src/armature.ts', import.meta.url));

describe('the bootstrap admin from ADMIN_EMAIL / ADMIN_PASSWORD', () => {
  let users: TestUsers;
  beforeAll(async () => {
    users = await startTestUsers('users-bootstrap');
  });
  afterAll(() => users?.close());

  it('exists after the start as a verified admin who can log in and list users', async () => {
    const token = await users.adminToken();
    const me = await users.call('GET', '/v1/users/me', { token });
    expect(me.body).toMatchObject({
      email: adminAccount.email,
      role: 'admin',
      emailVerifiedAt: expect.any(String),
    });
    expect((await users.call('GET', '/v1/users', { token })).status).toBe(200);
  });

  it('is ensured idempotently: running again, even concurrently, creates nothing and changes nothing', async () => {
    const { db } = users.service.context;
    const before = await findCredentials(db, adminAccount.email);
    const outcomes = await Promise.all([
      ensureAdmin(db, adminAccount),
      ensureAdmin(db, { ...adminAccount, password: 'another password entirely' }),
    ]);
    expect(outcomes).toEqual(['unchanged', 'unchanged']);
    const admins = await users.call('GET', `/v1/users?email=${adminAccount.email}`, {
      token: await users.adminToken(),
    });
    expect(admins.body.pagination.total).toBe(1);
    expect(admins.body.data[0].version).toBe(1);
    expect((await findCredentials(db, adminAccount.email))?.passwordHash).toBe(before?.passwordHash);
    // The password given first still works: an existing admin's password is never reset.
    await users.login(adminAccount.email, adminAccount.password);
  });

  it('creates a missing admin once when two instances ensure it at the same time', async () => {
    const { db } = users.service.context;
    const account = { email: 'twins@example.com', password: 'twins-password' };
    const outcomes = await Promise.all([ensureAdmin(db, account), ensureAdmin(db, account)]);
    expect(outcomes.sort()).toEqual(['created', 'unchanged']);
    await users.login(account.email, account.password);
  });

  it('promotes an existing member with that email, keeping their password', async () => {
    const member = await users.member('promote');
    const outcome = await ensureAdmin(users.service.context.db, {
      email: member.email,
      password: 'ignored-password',
    });
    expect(outcome).toBe('promoted');
    const tokens = await users.login(member.email, member.password);
    expect((await users.call('GET', '/v1/users/me', { token: tokens.accessToken })).body.role).toBe('admin');
  });
});

describe('npm run create-admin and rotate-keys (the CLI)', () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await freshStore('users-cli');
  });
  afterAll(() => store?.drop());

  const env = () => ({
    ...process.env,
    DATA_DIR: store.dataDir,
    LOG_LEVEL: 'silent',
    ...(store.url ? { USERS_DATABASE_URL: store.url } : {}),
  });
  /** A real `armature` process: slow on a busy machine (it loads the whole system), so used sparingly. */
  const armature = async (...args: string[]) =>
    (await run(process.execPath, [cli, ...args], { env: env() })).stdout;
  const spawnTimeout = 180_000;

  it(
    'creates the admin, then says it exists; the admin can log in',
    async () => {
      const args = ['--email', 'cli-admin@example.com', '--password', 'cli-password-1'];
      expect(await armature('create-admin', ...args)).toMatch(/cli-admin@example.com: created/);
      expect(await createAdmin(args, env())).toMatch(/already an admin/);

      const users = await startOnStore(store);
      try {
        const tokens = await users.login('cli-admin@example.com', 'cli-password-1');
        expect((await users.call('GET', '/v1/users', { token: tokens.accessToken })).status).toBe(200);
      } finally {
        await users.close();
      }
    },
    spawnTimeout,
  );

  it('refuses a bad email, a short password or a missing one with a message', async () => {
    await expect(createAdmin(['--email', 'nope', '--password', 'long-enough-1'], env())).rejects.toThrow(
      /--email must be an email address/,
    );
    await expect(createAdmin(['--email', 'a@example.com', '--password', 'short'], env())).rejects.toThrow(
      /--password must be 8 to 128 characters/,
    );
    await expect(createAdmin(['--email', 'a@example.com'], env())).rejects.toThrow(
      /Usage: armature create-admin/,
    );
  });

  it(
    'rotate-keys adds a new signing key and retires the previous one',
    async () => {
      const database = await openUsersDatabase({ url: store.url, dataDir: store.dataDir });
      const before = await database.db.selectFrom('signing_keys').select(['kid', 'retired_at']).execute();
      await database.close();
      expect(before.filter((key) => key.retired_at === null)).toHaveLength(1);

      const output = await armature('rotate-keys');
      expect(output).toContain(`retired ${before[0]!.kid}`);

      const after = await openUsersDatabase({ url: store.url, dataDir: store.dataDir });
      const keys = await after.db.selectFrom('signing_keys').select(['kid', 'retired_at']).execute();
      await after.close();
      expect(keys).toHaveLength(2);
      expect(keys.filter((key) => key.retired_at === null)).toHaveLength(1);
    },
    spawnTimeout,
  );
});
