import { Gauge, type Registry } from 'prom-client';
import type { PoolUse } from './database.ts';

const gauges: [name: string, help: string, read: (use: PoolUse) => number][] = [
  ['db_pool_connections', 'Database connections open (PGlite: its one connection)', (use) => use.total],
  ['db_pool_connections_idle', 'Open database connections no query holds', (use) => use.idle],
  [
    'db_pool_requests_waiting',
    'Queries and transactions waiting for a database connection',
    (use) => use.waiting,
  ],
  ['db_pool_connections_max', 'The most connections the pool opens', (use) => use.max],
];

/**
 * The database pool's use as gauges in `registry` (a server's `/metrics`), read when scraped: for
 * PostgreSQL, pg.Pool's totalCount, idleCount and waitingCount; for PGlite, its single connection.
 * Waiting requests above zero for long mean the pool is too small for the load (`*_DATABASE_POOL_SIZE`).
 */
export function registerPoolMetrics(registry: Registry, database: { pool(): PoolUse }): void {
  for (const [name, help, read] of gauges) {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(database.pool()));
      },
    });
  }
}
