import { freshStore, mode, type TestStore } from '@armature/testing/databases';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../server.ts';
import { openDatabase, StatementNames } from './database.ts';

interface NotesDatabase {
  notes: { id: number; body: string };
}

describe(`database adapter (${mode})`, async () => {
  const store = await freshStore('notes');
  afterAll(() => store.drop());
  const open = () =>
    openDatabase<NotesDatabase>({ service: 'notes', url: store.url, dataDir: store.dataDir });

  it('keeps a row written before a restart', async () => {
    const first = await open();
    await sql`create table notes (id int primary key, body text not null)`.execute(first.db);
    await first.db.insertInto('notes').values({ id: 1, body: 'written before the restart' }).execute();
    await first.close();

    const second = await open();
    const rows = await second.db.selectFrom('notes').selectAll().execute();
    await second.close();
    expect(rows).toEqual([{ id: 1, body: 'written before the restart' }]);
  });

  it('rolls a failed transaction back as a whole', async () => {
    const database = await open();
    await expect(
      database.db.transaction().execute(async (trx) => {
        await trx.insertInto('notes').values({ id: 2, body: 'half' }).execute();
        await trx.insertInto('notes').values({ id: 1, body: 'duplicate key' }).execute();
      }),
    ).rejects.toThrow();
    const ids = (await database.db.selectFrom('notes').select('id').execute()).map((row) => row.id);
    await database.close();
    expect(ids).toEqual([1]);
  });
});

describe('statement names', () => {
  it('names a text the second time it is seen, the same name after', () => {
    const names = new StatementNames(10);
    expect(names.nameFor('select $1')).toBeUndefined();
    const name = names.nameFor('select $1');
    expect(name).toBeDefined();
    expect(names.nameFor('select $1')).toBe(name);
    expect(names.nameFor('select $2')).toBeUndefined();
  });

  it('names no more texts than its limit', () => {
    const names = new StatementNames(2);
    const named = ['a', 'b', 'c'].map((text) => {
      names.nameFor(text);
      return names.nameFor(text);
    });
    expect(named[0]).toBeDefined();
    expect(named[1]).toBeDefined();
    expect(named[2]).toBeUndefined();
  });

  it('gives every text a new name once forgotten', () => {
    const names = new StatementNames(10);
    names.nameFor('select $1');
    const before = names.nameFor('select $1');
    names.forget();
    names.nameFor('select $1');
    const after = names.nameFor('select $1');
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
  });
});

describe(`prepared statements (${mode})`, () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await freshStore('prepared');
  });
  afterAll(() => store?.drop());
  const openPrepared = () =>
    openDatabase<NotesDatabase>({ service: 'prepared', url: store.url, dataDir: store.dataDir, poolSize: 1 });

  it('prepares a statement run again, once per connection', async () => {
    const database = await openPrepared();
    await sql`create table notes (id int primary key, body text not null)`.execute(database.db);
    await database.db.insertInto('notes').values({ id: 1, body: 'one' }).execute();
    const read = () => database.db.selectFrom('notes').select('body').where('id', '=', 1).execute();
    expect(await read()).toEqual([{ body: 'one' }]);
    expect(await read()).toEqual([{ body: 'one' }]);
    expect(await read()).toEqual([{ body: 'one' }]);
    const { rows } = await sql<{ statement: string }>`
      select statement from pg_prepared_statements where statement like '%from "notes"%'`.execute(
      database.db,
    );
    await database.close();
    expect(rows).toHaveLength(1);
  });

  it('answers a prepared select * again after its table changed', async () => {
    const database = await openPrepared();
    await sql`create table if not exists notes (id int primary key, body text not null)`.execute(database.db);
    await sql`insert into notes values (1, 'one') on conflict do nothing`.execute(database.db);
    const read = () => database.db.selectFrom('notes').selectAll().where('id', '>', 0).execute();
    await read();
    await read();
    await sql`alter table notes add column extra text`.execute(database.db);
    const rows = await read();
    await database.close();
    // The new column is there: the statement was prepared again, not answered from the stale plan.
    expect(rows).toEqual([{ id: 1, body: 'one', extra: null }]);
  });

  it('sends every kind of parameter and reads every kind of column the same way again', async () => {
    const database = await openPrepared();
    const at = new Date('2026-01-02T03:04:05.678Z');
    const read = () =>
      sql<{ ids: number[]; doc: { a: number[] }; at: Date; yes: boolean; none: string | null; big: number }>`
        select ${[3, 1, 2]}::bigint[]::int[] as ids, ${JSON.stringify({ a: [1] })}::jsonb as doc,
          ${at}::timestamptz as at, ${true}::boolean as yes, ${null}::text as none,
          ${9_007_199_254_740_991}::bigint as big`.execute(database.db);
    const answers = [await read(), await read(), await read()].map(({ rows }) => rows);
    await database.close();
    for (const rows of answers) {
      expect(rows).toEqual([
        { ids: [3, 1, 2], doc: { a: [1] }, at, yes: true, none: null, big: 9_007_199_254_740_991 },
      ]);
    }
  });

  it("keeps an error's code, and the statement works again after it", async () => {
    const database = await openPrepared();
    await sql`create table if not exists notes (id int primary key, body text not null)`.execute(database.db);
    await sql`delete from notes`.execute(database.db);
    const insert = (id: number) =>
      database.db
        .insertInto('notes')
        .values({ id, body: `note ${id}` })
        .execute();
    await insert(1);
    await insert(2);
    const failures = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      failures.push(await insert(1).catch((error: { code?: string; constraint?: string }) => error));
      // A failed statement inside a transaction rolls the whole transaction back.
      failures.push(
        await database.db
          .transaction()
          .execute(async (trx) => {
            await trx
              .insertInto('notes')
              .values({ id: 10 + attempt, body: 'rolled back' })
              .execute();
            await trx.insertInto('notes').values({ id: 2, body: 'duplicate' }).execute();
          })
          .catch((error: { code?: string; constraint?: string }) => error),
      );
    }
    await insert(3);
    const ids = (await database.db.selectFrom('notes').select('id').orderBy('id').execute()).map(
      (row) => row.id,
    );
    await database.close();
    for (const failure of failures)
      expect(failure).toMatchObject({ code: '23505', constraint: 'notes_pkey' });
    expect(ids).toEqual([1, 2, 3]);
  });
});

describe('health of a database that is gone', () => {
  it('reports unhealthy with 503 and the database down', async () => {
    const app = createServer({ service: 'test', logLevel: 'silent' });
    const dead = await openDatabase({
      service: 'dead',
      url: 'postgres://postgres@127.0.0.1:1/nothing',
      dataDir: '',
    });
    app.health.add('database', dead.ping);
    const response = await app.inject({ method: 'GET', url: '/health' });
    const ready = await app.inject({ method: 'GET', url: '/health/ready' });
    await app.close();
    await dead.close();
    expect(response.statusCode).toBe(503);
    const report = response.json();
    expect(report.status).toBe('unhealthy');
    expect(report.checks.database.status).toBe('down');
    expect(typeof report.checks.database.latency).toBe('number');
    expect(ready.statusCode).toBe(503);
  });

  it('reports degraded (200) when only a non-critical dependency is down', async () => {
    const app = createServer({ service: 'test', logLevel: 'silent' });
    app.health.add('database', async () => {});
    app.health.add('cache', async () => Promise.reject(new Error('connection refused')), { critical: false });
    const response = await app.inject({ method: 'GET', url: '/health' });
    await app.close();
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      status: 'degraded',
      checks: { database: { status: 'up' }, cache: { status: 'down' } },
    });
  });
});
