import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPglite, ensureClusters, pgliteThread } from './pglite.ts';

describe('embedded databases on the database thread', () => {
  let root = '';
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'armature-db-thread-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('run statements and transactions and keep what was committed across a reopen', async () => {
    const folder = join(root, 'kept');
    await ensureClusters([folder]);
    const first = await createPglite(folder, { PGLITE_THREAD: 'worker' });
    await first.exec('create table notes (id int primary key, body text, at timestamptz)');
    await first.query('begin');
    await first.query('insert into notes values ($1, $2, $3)', [
      1,
      'kept',
      new Date('2026-01-02T03:04:05.678Z'),
    ]);
    await first.query('commit');
    await first.query('begin');
    await first.query('insert into notes values ($1, $2, now())', [2, 'rolled back']);
    await first.query('rollback');
    const { rows, affectedRows } = await first.query('update notes set body = body where id = $1', [1]);
    expect(rows).toEqual([]);
    expect(affectedRows).toBe(1);
    await first.close();
    expect(first.closed).toBe(true);

    const again = await createPglite(folder, { PGLITE_THREAD: 'worker' });
    try {
      const { rows: notes } = await again.query<{ id: number; body: string; at: Date }>(
        'select * from notes',
      );
      expect(notes).toEqual([{ id: 1, body: 'kept', at: new Date('2026-01-02T03:04:05.678Z') }]);
    } finally {
      await again.close();
    }
  });

  it("give PostgreSQL's error fields (code, constraint) to the caller, who tells errors apart by them", async () => {
    const client = await createPglite(undefined, { PGLITE_THREAD: 'worker' });
    try {
      await client.exec('create table emails (email text constraint emails_unique unique)');
      await client.query('insert into emails values ($1)', ['a@example.com']);
      const failure = await client.query('insert into emails values ($1)', ['a@example.com']).catch((e) => e);
      expect(failure).toBeInstanceOf(Error);
      expect(failure).toMatchObject({ code: '23505', constraint: 'emails_unique' });
      expect(failure.message).toMatch(/duplicate key/);
      // The database goes on after an error.
      expect((await client.query<{ n: number }>('select count(*)::int as n from emails')).rows).toEqual([
        { n: 1 },
      ]);
    } finally {
      await client.close();
    }
  });

  it('runs several databases at once, each with its own data', async () => {
    const [a, b] = await Promise.all([
      createPglite(undefined, { PGLITE_THREAD: 'worker' }),
      createPglite(undefined, { PGLITE_THREAD: 'worker' }),
    ]);
    try {
      await Promise.all([a.exec('create table only_in_a (x int)'), b.exec('create table only_in_b (x int)')]);
      const tables = async (client: typeof a) =>
        (
          await client.query<{ t: string }>(
            `select tablename as t from pg_tables where tablename like 'only_in_%'`,
          )
        ).rows;
      expect(await tables(a)).toEqual([{ t: 'only_in_a' }]);
      expect(await tables(b)).toEqual([{ t: 'only_in_b' }]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('refuse statements once closed, with an error rather than a hang', async () => {
    const client = await createPglite(undefined, { PGLITE_THREAD: 'worker' });
    await client.close();
    await expect(client.query('select 1')).rejects.toThrow();
  });

  it('name the setting when PGLITE_THREAD is neither worker nor main', () => {
    expect(pgliteThread({})).toBe('main');
    expect(pgliteThread({ PGLITE_THREAD: 'main' })).toBe('main');
    expect(() => pgliteThread({ PGLITE_THREAD: 'both' })).toThrow(/PGLITE_THREAD/);
  });
});
