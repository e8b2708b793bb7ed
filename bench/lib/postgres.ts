import { Redis } from 'ioredis';
import pg from 'pg';

/**
 * The scale-out run's throwaway databases, `armature_bench_users_<run>` and
 * `armature_bench_orders_<run>`, on the machine's PostgreSQL (`BENCH_POSTGRES_URL`, default the local
 * server as `postgres`). The cluster creates them on start; `drop` removes them.
 */
export class BenchDatabases {
  readonly #admin: string;
  readonly #names: Record<'users' | 'orders', string>;

  constructor(runId: string) {
    this.#admin = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const suffix = runId.replace(/\W/g, '_').toLowerCase();
    this.#names = { users: `armature_bench_users_${suffix}`, orders: `armature_bench_orders_${suffix}` };
  }

  url(service: 'users' | 'orders'): string {
    const url = new URL(this.#admin);
    url.pathname = `/${this.#names[service]}`;
    return url.toString();
  }

  async #query<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ connectionString: this.#admin });
    await client.connect();
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  /** The server processes serving the bench's databases now (their CPU is the database's share). */
  async backendPids(): Promise<number[]> {
    const rows = await this.#query<{ pid: number }>(
      'select pid from pg_stat_activity where datname = any($1::text[])',
      [Object.values(this.#names)],
    );
    return rows.map((row) => row.pid);
  }

  async drop(): Promise<void> {
    for (const name of Object.values(this.#names)) {
      await this.#query(`drop database if exists "${name}" with (force)`);
    }
  }
}

/** Deletes the keys under `prefix` (the bench's rate-limit buckets). */
export async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 1000 });
  try {
    await redis.connect();
    let cursor = '0';
    let rounds = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
      rounds++;
    } while (cursor !== '0' && rounds < 10_000);
  } finally {
    redis.disconnect();
  }
}
