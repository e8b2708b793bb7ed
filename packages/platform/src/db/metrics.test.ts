import { freshStore, mode } from '@armature/testing/databases';
import { sql } from 'kysely';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from './database.ts';
import { registerPoolMetrics } from './metrics.ts';

function gauge(text: string, name: string): number {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  if (!match) throw new Error(`${name} is not in the scrape`);
  return Number(match[1]);
}

describe(`database pool gauges (${mode})`, async () => {
  const store = await freshStore('pool');
  afterAll(() => store.drop());

  it('report open, idle and waiting connections, including while a transaction holds one', async () => {
    const database = await openDatabase({
      service: 'pool',
      url: store.url,
      dataDir: store.dataDir,
      poolSize: 2,
    });
    const registry = new Registry();
    registerPoolMetrics(registry, database);
    try {
      await sql`select 1`.execute(database.db);
      let idle = await registry.metrics();
      expect(gauge(idle, 'db_pool_connections')).toBeGreaterThanOrEqual(1);
      expect(gauge(idle, 'db_pool_connections_idle')).toBe(gauge(idle, 'db_pool_connections'));
      expect(gauge(idle, 'db_pool_requests_waiting')).toBe(0);
      expect(gauge(idle, 'db_pool_connections_max')).toBe(database.kind === 'pglite' ? 1 : 2);

      // Hold every connection in transactions, then queue one more query behind them.
      const holders = database.kind === 'pglite' ? 1 : 2;
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let started = 0;
      const transactions = Array.from({ length: holders }, () =>
        database.db.transaction().execute(async (trx) => {
          await sql`select 1`.execute(trx);
          started++;
          await gate;
        }),
      );
      for (let i = 0; i < 200 && started < holders; i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(started).toBe(holders);
      const queued = sql`select 1`.execute(database.db);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const busy = await registry.metrics();
      expect(gauge(busy, 'db_pool_connections_idle')).toBe(0);
      expect(gauge(busy, 'db_pool_requests_waiting')).toBe(1);
      release();
      await Promise.all([...transactions, queued]);
      idle = await registry.metrics();
      expect(gauge(idle, 'db_pool_requests_waiting')).toBe(0);
    } finally {
      await database.close();
    }
  });
});
