import { eventually, type ReplicaCluster, startReplicaCluster } from '@armature/testing/replica-cluster';
import { type Kysely, sql } from 'kysely';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cache } from '../cache/cache.ts';
import { DisabledCacheStore } from '../cache/disabled.ts';
import { MemoryCacheStore } from '../cache/memory.ts';
import { type Database, openDatabase } from './database.ts';
import { openReads, type ReadReplicaSettings, type Reads } from './read-replica.ts';

/**
 * Read routing against a real streaming replica: a throwaway primary and a `pg_basebackup -R` copy
 * of it, started by the suite on their own ports in both test passes. Which server answered is what
 * `pg_is_in_recovery()` says on the connection that ran the read.
 */

interface Note {
  id: number;
  body: string;
}
interface NotesDatabase {
  notes: Note;
}

let cluster: ReplicaCluster;
let primary: Database<NotesDatabase>;
let reads: Reads<NotesDatabase>;
const registry = new Registry();
const logged: { level: 'warn' | 'info'; message: string; object: object }[] = [];
const settings = (url: string): ReadReplicaSettings => ({
  url,
  poolSize: 4,
  timeoutMs: 1000,
  retryMs: 300,
  readYourWritesSeconds: 3600,
});

const onStandby = (db: Kysely<NotesDatabase>) =>
  sql<{ standby: boolean }>`select pg_is_in_recovery() as standby`
    .execute(db)
    .then((r) => r.rows[0]!.standby);
const note = (id: number) => (db: Kysely<NotesDatabase>) =>
  db.selectFrom('notes').selectAll().where('id', '=', id).executeTakeFirst();

async function fallbacks(reason: string): Promise<number> {
  const metric = await registry.getSingleMetric('db_read_fallbacks_total')?.get();
  return metric?.values.find((value) => value.labels.reason === reason)?.value ?? 0;
}

beforeAll(async () => {
  cluster = await startReplicaCluster();
  await cluster.createDatabase('armature_reads');
  primary = await openDatabase<NotesDatabase>({
    service: 'reads',
    url: cluster.primaryUrl('armature_reads'),
    dataDir: '',
  });
  await sql`create table notes (id int primary key, body text not null)`.execute(primary.db);
  await cluster.caughtUp();
  reads = await openReads({
    service: 'reads',
    primary,
    settings: settings(cluster.replicaUrl('armature_reads')),
    registry,
    log: {
      warn: (object, message) => logged.push({ level: 'warn', object, message }),
      info: (object, message) => logged.push({ level: 'info', object, message }),
    },
  });
}, 180_000);

afterAll(async () => {
  await reads?.close();
  await primary?.close();
  await cluster?.close();
});

describe('reads with a streaming replica', () => {
  it('runs reads on the replica, and a caller who just wrote reads the primary', async () => {
    expect(reads.hasReplica).toBe(true);
    expect(await reads.run(undefined, onStandby)).toBe(true);
    expect(await reads.run('alice', onStandby)).toBe(true);
    await reads.wrote('alice');
    expect(await reads.run('alice', onStandby)).toBe(false);
    // Someone else's write changes nothing for bob.
    expect(await reads.run('bob', onStandby)).toBe(true);
  });

  it('shares read-your-own-writes marks through a shared cache, and reads the primary when it cannot tell', async () => {
    const open = (shared: Cache) =>
      openReads({
        service: 'reads',
        primary,
        settings: settings(cluster.replicaUrl('armature_reads')),
        log: { warn: () => {}, info: () => {} },
        shared,
      });
    const shared = new Cache({ store: new MemoryCacheStore(), name: 'reads' });
    const [one, two] = [await open(shared), await open(shared)];
    const unknowing = await open(new Cache({ store: new DisabledCacheStore(), name: 'reads' }));
    try {
      await one.wrote('carol');
      expect(await two.run('carol', onStandby)).toBe(false);
      expect(await two.run('dave', onStandby)).toBe(true);
      // A shared cache that cannot answer: signed-in callers read the primary, anonymous ones the replica.
      expect(await unknowing.run('dave', onStandby)).toBe(false);
      expect(await unknowing.run(undefined, onStandby)).toBe(true);
    } finally {
      await Promise.all([one.close(), two.close(), unknowing.close()]);
    }
  });

  it('lets a lagging replica answer stale, unless the read asks for a recheck of a miss on the primary', async () => {
    await cluster.pauseReplay();
    try {
      await primary.db.insertInto('notes').values({ id: 1, body: 'written during the lag' }).execute();
      expect(await reads.run('bob', note(1))).toBeUndefined();
      const rechecked = await reads.run('bob', note(1), { recheckOnPrimary: (row) => row === undefined });
      expect(rechecked?.body).toBe('written during the lag');
      // The caller who wrote sees their write at once.
      expect((await reads.run('alice', note(1)))?.body).toBe('written during the lag');
    } finally {
      await cluster.resumeReplay();
    }
    await cluster.caughtUp();
    expect((await reads.run('bob', note(1)))?.body).toBe('written during the lag');
  });

  it("passes a query's own error on, without a fallback", async () => {
    const before = (await registry.getSingleMetric('db_read_fallbacks_total')?.get())?.values ?? [];
    await expect(reads.run(undefined, (db) => sql`select * from no_such_table`.execute(db))).rejects.toThrow(
      /no_such_table/,
    );
    expect((await registry.getSingleMetric('db_read_fallbacks_total')?.get())?.values ?? []).toEqual(before);
  });

  it('reads the primary when a statement on the replica runs past the timeout', async () => {
    const before = await fallbacks('timeout');
    const slow = (db: Kysely<NotesDatabase>) =>
      sql<{ standby: boolean }>`select pg_is_in_recovery() as standby, pg_sleep(1.5)`
        .execute(db)
        .then((r) => r.rows[0]!.standby);
    expect(await reads.run(undefined, slow)).toBe(false);
    expect(await fallbacks('timeout')).toBe(before + 1);
    // After the retry time the replica is probed again, and answers.
    await eventually('reads back on the replica', () => reads.run(undefined, onStandby));
  });

  it('falls back to the primary while the replica is down, logged and counted, and returns to it', async () => {
    await eventually('reads on the replica', () => reads.run(undefined, onStandby));
    const unavailable = await fallbacks('unavailable');
    const open = await fallbacks('circuit_open');
    logged.length = 0;
    await cluster.stopReplica();

    expect(await reads.run(undefined, onStandby)).toBe(false);
    expect((await reads.run(undefined, note(1)))?.body).toBe('written during the lag');
    expect(await fallbacks('unavailable')).toBeGreaterThan(unavailable);
    // The dead replica is not tried on every read: until the retry time, reads go straight to the primary.
    expect(await fallbacks('circuit_open')).toBeGreaterThan(open);
    expect(logged).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'read replica did not answer; read from the primary instead',
      }),
    );
    await expect(reads.ping()).rejects.toThrow();

    await cluster.startReplica();
    await eventually('reads back on the replica', () => reads.run(undefined, onStandby));
    expect(logged).toContainEqual(
      expect.objectContaining({ level: 'info', message: 'read replica answers again; reads go to it' }),
    );
    await reads.ping();
  });
});

describe('reads without a replica', () => {
  it('runs every read on an embedded database, whatever the replica URL says', async () => {
    const embedded = await openDatabase<NotesDatabase>({ service: 'reads', dataDir: '', inMemory: true });
    try {
      const embeddedReads = await openReads({
        service: 'reads',
        primary: embedded,
        settings: settings('postgres://postgres@127.0.0.1:9/nowhere'),
        log: { warn: () => {}, info: () => {} },
      });
      expect(embeddedReads.hasReplica).toBe(false);
      expect(
        await embeddedReads.run(undefined, (db) => sql<{ one: number }>`select 1 as one`.execute(db)),
      ).toMatchObject({ rows: [{ one: 1 }] });
    } finally {
      await embedded.close();
    }
  });
});
