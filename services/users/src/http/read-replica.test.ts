import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  eventually,
  type ReplicaCluster,
  readRoutingFigures,
  startReplicaCluster,
} from '@armature/testing/replica-cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOnStore, type TestUsers } from '../testing.ts';

/**
 * The users service with `USERS_READ_DATABASE_URL` on a real streaming replica: a throwaway primary
 * and its `pg_basebackup -R` copy, started by the suite on their own ports (both test passes).
 * Replica lag is made by pausing WAL replay; an outage by killing the replica.
 */

let cluster: ReplicaCluster;
let users: TestUsers;
let dataDir: string;

const emails = (reply: { body: { data: { email: string }[] } }) => reply.body.data.map((user) => user.email);

beforeAll(async () => {
  cluster = await startReplicaCluster();
  await cluster.createDatabase('armature_users_replica');
  dataDir = await mkdtemp(join(tmpdir(), 'armature-users-replica-'));
  users = await startOnStore(
    { url: cluster.primaryUrl('armature_users_replica'), dataDir, drop: async () => {} },
    {
      USERS_READ_DATABASE_URL: cluster.replicaUrl('armature_users_replica'),
      READ_REPLICA_RETRY_MS: '300',
      READ_YOUR_WRITES_SECONDS: '3600',
    },
  );
}, 180_000);

afterAll(async () => {
  await users?.close();
  await cluster?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('users with a read replica', () => {
  it('lists users from the replica, while a new user reads and changes their own account at once', async () => {
    const admin = await users.adminToken();
    await cluster.caughtUp();
    const before = await readRoutingFigures(users.url);
    expect((await users.call('GET', '/v1/users?limit=100', { token: admin })).status).toBe(200);
    expect((await readRoutingFigures(users.url)).replica).toBe(before.replica + 1);

    await cluster.pauseReplay();
    try {
      const member = await users.member('lagging');
      // The admin has not written: their list comes from the lagging replica, without the newcomer.
      expect(emails(await users.call('GET', '/v1/users?limit=100', { token: admin }))).not.toContain(
        member.email,
      );
      // The newcomer signs in and reads themselves at once (sign-in and single-user reads use the primary).
      const me = await users.call('GET', '/v1/users/me', { token: member.accessToken });
      expect(me.status).toBe(200);
      expect(me.body.email).toBe(member.email);
      const renamed = await users.call('PATCH', '/v1/users/me', {
        token: member.accessToken,
        headers: { 'content-type': 'application/merge-patch+json' },
        body: { name: 'Renamed during the lag' },
      });
      expect(renamed.status).toBe(200);
      const again = await users.call('GET', '/v1/users/me', { token: member.accessToken });
      expect(again.body.name).toBe('Renamed during the lag');
      expect(again.body.version).toBe(renamed.body.version);

      // Once the admin writes (a role change), their own list reads the primary: the newcomer is there.
      const promoted = await users.call('PATCH', `/v1/users/${member.id}`, {
        token: admin,
        headers: { 'content-type': 'application/merge-patch+json' },
        body: { role: 'admin' },
      });
      expect(promoted.status).toBe(200);
      expect(emails(await users.call('GET', '/v1/users?limit=100', { token: admin }))).toContain(
        member.email,
      );
    } finally {
      await cluster.resumeReplay();
    }
    await cluster.caughtUp();
  });

  it('lists users from the primary while the replica is down, counts it, and goes back to the replica', async () => {
    // A second admin, who has written nothing, so their reads may go to the replica.
    const reader = await users.member('reader');
    const admin = await users.adminToken();
    await users.call('PATCH', `/v1/users/${reader.id}`, {
      token: admin,
      headers: { 'content-type': 'application/merge-patch+json' },
      body: { role: 'admin' },
    });
    const token = (await users.login(reader.email, reader.password)).accessToken;
    await cluster.caughtUp();

    const before = await readRoutingFigures(users.url);
    await cluster.stopReplica();
    try {
      const list = await users.call('GET', '/v1/users?limit=100', { token });
      expect(list.status).toBe(200);
      expect(emails(list)).toContain(reader.email);
      const during = await readRoutingFigures(users.url);
      expect(during.fallbacks.unavailable ?? 0).toBeGreaterThan(before.fallbacks.unavailable ?? 0);
      const health = await users.call('GET', '/health');
      expect(health.status).toBe(200);
      expect(health.body.status).toBe('degraded');
      expect(health.body.checks['database-replica'].status).toBe('down');
    } finally {
      await cluster.startReplica();
    }
    await eventually('user lists served by the replica again', async () => {
      const { replica } = await readRoutingFigures(users.url);
      const list = await users.call('GET', '/v1/users?limit=100', { token });
      return list.status === 200 && (await readRoutingFigures(users.url)).replica > replica;
    });
    expect((await users.call('GET', '/health')).body.status).toBe('healthy');
  });
});
