import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from './migrate.ts';
import { PGliteDialect } from './pglite-dialect.ts';

// int8 (counts, money totals) as numbers: every value we store fits in 2^53.
pg.types.setTypeParser(20, (value) => Number(value));

/** Connections of a database handle, for the `db_pool_*` gauges. */
export interface PoolUse {
  /** Connections open (PGlite: its one connection). */
  total: number;
  /** Open connections no query holds. */
  idle: number;
  /** Queries and transactions waiting for a connection. */
  waiting: number;
  /** The most connections the pool opens. */
  max: number;
}

export interface Database<Schema> {
  db: Kysely<Schema>;
  kind: 'pglite' | 'postgres';
  /** How the connections are used right now. */
  pool(): PoolUse;
  /** A round trip to the database, for health checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  service: string;
  /** PostgreSQL URL; unset → embedded PGlite under `dataDir/<service>`. */
  url?: string;
  dataDir: string;
  /** `memory://` keeps an embedded database in memory only (tests). */
  inMemory?: boolean;
  migrationsFolder?: string;
  poolSize?: number;
  onPoolError?: (error: Error) => void;
}

export async function openDatabase<Schema>(options: DatabaseOptions): Promise<Database<Schema>> {
  const database = options.url ? openPostgres<Schema>(options) : await openPglite<Schema>(options);
  if (options.migrationsFolder)
    await migrateToLatest(database.db as Kysely<unknown>, options.migrationsFolder);
  return database;
}

function openPostgres<Schema>(options: DatabaseOptions): Database<Schema> {
  const max = options.poolSize ?? 10;
  const pool = new pg.Pool({
    connectionString: options.url,
    max,
    connectionTimeoutMillis: 3000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its server (a restart) must not crash the process; the pool reconnects.
  pool.on('error', (error) => options.onPoolError?.(error));
  // pg-pool listens for errors only on idle clients. A client checked out but between statements (in
  // a transaction) that loses its server emits 'error' with no listener: an uncaught exception that
  // takes the process down. Listen on every client; the failed client is dropped when released.
  pool.on('connect', (client) => {
    client.on('error', (error) => options.onPoolError?.(error));
  });
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    kind: 'postgres',
    pool: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max }),
    ping: async () => void (await sql`select 1`.execute(db)),
    close: () => db.destroy(),
  };
}

async function openPglite<Schema>(options: DatabaseOptions): Promise<Database<Schema>> {
  let dataDir: string | undefined;
  if (!options.inMemory) {
    dataDir = resolve(join(options.dataDir, options.service));
    await mkdir(dataDir, { recursive: true });
  }
  const client = await PGlite.create(dataDir, { parsers: { 20: (value: string) => Number(value) } });
  const dialect = new PGliteDialect(client);
  const db = new Kysely<Schema>({ dialect });
  return {
    db,
    kind: 'pglite',
    pool: () => ({ total: 1, idle: dialect.use.held ? 0 : 1, waiting: dialect.use.waiting, max: 1 }),
    ping: async () => void (await sql`select 1`.execute(db)),
    close: () => db.destroy(),
  };
}
