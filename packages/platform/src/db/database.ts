import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { querySpans } from '../spans/queries.ts';
import { migrateToLatest } from './migrate.ts';
import { createPglite, ensureClusters, takeOpenedAhead } from './pglite.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import { existingMigratedTemplate } from './pglite-migrated.ts';
import { registerEmbedded } from './snapshot.ts';
import { STALE_PLAN, StatementNames } from './statement-names.ts';

export { StatementNames } from './statement-names.ts';

// int8 (counts, money totals) as numbers: every value we store fits in 2^53.
pg.types.setTypeParser(20, (value) => Number(value));

const parseTimestamptzSlowly = pg.types.getTypeParser(1184) as (text: string) => Date;
const digitAt = (text: string, index: number) => text.charCodeAt(index) - 48;
const twoDigits = (text: string, index: number) => digitAt(text, index) * 10 + digitAt(text, index + 1);

/**
 * timestamptz as PostgreSQL writes it in the ISO style (`2024-01-15 10:30:00.123+00`), read without
 * the generic parser's regular expressions: a list page reads two per row, and under list load the
 * generic parser was 5 % of the orders service's busy time. Anything else (other years, BC, infinity, seconds in
 * the offset) goes to the generic parser. Sub-millisecond digits are dropped, as a Date does.
 */
export function parseTimestamptz(text: string): Date {
  const length = text.length;
  if (length >= 22 && text.charCodeAt(4) === 45 && text.charCodeAt(10) === 32 && text.charCodeAt(0) !== 48) {
    let index = 19;
    let ms = 0;
    if (text.charCodeAt(index) === 46) {
      let digits = 0;
      for (index++; index < length; index++, digits++) {
        const digit = digitAt(text, index);
        if (digit < 0 || digit > 9) break;
        if (digits < 3) ms = ms * 10 + digit;
      }
      if (digits < 3) ms *= 10 ** (3 - digits);
    }
    const sign = text.charCodeAt(index);
    const hoursOnly = length === index + 3;
    if (
      (sign === 43 || sign === 45) &&
      (hoursOnly || (length === index + 6 && text.charCodeAt(index + 3) === 58))
    ) {
      const offsetMinutes = twoDigits(text, index + 1) * 60 + (hoursOnly ? 0 : twoDigits(text, index + 4));
      const year = twoDigits(text, 0) * 100 + twoDigits(text, 2);
      const utc = Date.UTC(
        year,
        twoDigits(text, 5) - 1,
        twoDigits(text, 8),
        twoDigits(text, 11),
        twoDigits(text, 14),
        twoDigits(text, 17),
        ms,
      );
      return new Date(utc - (sign === 43 ? offsetMinutes : -offsetMinutes) * 60_000);
    }
  }
  return parseTimestamptzSlowly(text);
}
pg.types.setTypeParser(1184, parseTimestamptz);

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
  /** How long getting a PostgreSQL connection may take (default 3 s). */
  connectTimeoutMs?: number;
  /** `statement_timeout` of every PostgreSQL connection (default: none). */
  statementTimeoutMs?: number;
  onPoolError?: (error: Error) => void;
}

export async function openDatabase<Schema>(options: DatabaseOptions): Promise<Database<Schema>> {
  const database = options.url ? openPostgres<Schema>(options) : await openPglite<Schema>(options);
  if (options.migrationsFolder)
    await migrateToLatest(database.db as Kysely<unknown>, options.migrationsFolder);
  return database;
}

/**
 * A pg client that sends the statements `names` knows as named (prepared) statements. A prepared
 * statement made stale by a migration of another instance fails once: outside a transaction it is
 * run again under a new name (it did nothing), inside one the error stands (the transaction is
 * aborted) and the caller's next attempt prepares afresh.
 */
function preparingClient(names: StatementNames): typeof pg.Client {
  return class PreparingClient extends pg.Client {
    // biome-ignore lint/suspicious/noExplicitAny: pg's query() is a set of overloads; this only routes them.
    override query(config: any, values?: any, callback?: any): any {
      if (
        typeof config !== 'string' ||
        !Array.isArray(values) ||
        values.length === 0 ||
        callback !== undefined
      ) {
        return super.query(config, values, callback);
      }
      const name = names.nameFor(config);
      if (name === undefined) return super.query(config, values);
      return super.query({ name, text: config, values }).catch((error: { code?: string }) => {
        if (error?.code !== STALE_PLAN) throw error;
        names.forget();
        if (this.getTransactionStatus() !== 'I') throw error;
        return super.query(config, values);
      });
    }
  };
}

function openPostgres<Schema>(options: DatabaseOptions): Database<Schema> {
  const max = options.poolSize ?? 10;
  const pool = new pg.Pool({
    Client: preparingClient(new StatementNames()),
    connectionString: options.url,
    max,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
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
  const db = new Kysely<Schema>({
    dialect: new PostgresDialect({ pool }),
    log: querySpans(options.service, 'postgresql'),
  });
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
  const ahead = dataDir ? takeOpenedAhead(dataDir) : undefined;
  const { service, migrationsFolder } = options;
  if (dataDir && !ahead) {
    await ensureClusters([dataDir], process.env, async () =>
      migrationsFolder ? existingMigratedTemplate(service, migrationsFolder) : undefined,
    );
  }
  const client = await (ahead ?? createPglite(dataDir));
  const dialect = new PGliteDialect(client);
  const db = new Kysely<Schema>({ dialect, log: querySpans(options.service, 'pglite') });
  const unregister = dataDir
    ? registerEmbedded({ service: options.service, folder: dataDir, db, dialect })
    : () => {};
  return {
    db,
    kind: 'pglite',
    pool: () => ({ total: 1, idle: dialect.use.held ? 0 : 1, waiting: dialect.use.waiting, max: 1 }),
    ping: async () => void (await sql`select 1`.execute(db)),
    close: async () => {
      unregister();
      await db.destroy();
    },
  };
}
