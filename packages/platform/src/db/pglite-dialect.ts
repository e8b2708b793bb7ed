import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
} from 'kysely';
import type { EmbeddedClient } from './pglite-remote.ts';

/**
 * Kysely dialect for PGlite. Written here because the published ones pin older PGlite releases.
 * PGlite is a single connection, so a transaction must own it: `acquireConnection` is a mutex that a
 * transaction holds from BEGIN to COMMIT, and single queries take it for one statement.
 */
export class PGliteDialect implements Dialect {
  readonly #client: EmbeddedClient;
  readonly #use: ConnectionUse = { held: false, waiting: 0 };
  #driver?: PGliteDriver;
  constructor(client: EmbeddedClient) {
    this.#client = client;
  }
  /**
   * Takes the one connection as a transaction would, waiting for the statement or transaction in
   * progress to end, and keeps every other query out until `release()` (a backup's quiet point).
   */
  async hold(): Promise<{ client: EmbeddedClient; release: () => Promise<void> }> {
    this.#driver ??= new PGliteDriver(this.#client, this.#use);
    const driver = this.#driver;
    const connection = await driver.acquireConnection();
    return { client: this.#client, release: () => driver.releaseConnection(connection) };
  }
  /** The one connection: whether a query or transaction holds it, and how many wait for it. */
  get use(): Readonly<ConnectionUse> {
    return this.#use;
  }
  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    this.#driver ??= new PGliteDriver(this.#client, this.#use);
    return this.#driver;
  }
  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
}

interface ConnectionUse {
  held: boolean;
  waiting: number;
}

class PGliteDriver implements Driver {
  readonly #client: EmbeddedClient;
  readonly #connection: PGliteConnection;
  readonly #use: ConnectionUse;
  #queue: Promise<void> = Promise.resolve();

  constructor(client: EmbeddedClient, use: ConnectionUse) {
    this.#client = client;
    this.#use = use;
    this.#connection = new PGliteConnection(client);
  }

  async init(): Promise<void> {
    await this.#client.waitReady;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    let release!: () => void;
    const previous = this.#queue;
    this.#queue = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#use.waiting++;
    await previous;
    this.#use.waiting--;
    this.#use.held = true;
    this.#connection.release = () => {
      this.#use.held = false;
      release();
    };
    return this.#connection;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin'));
  }
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }
  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as PGliteConnection).release?.();
  }
  async destroy(): Promise<void> {
    if (!this.#client.closed) await this.#client.close();
  }
}

class PGliteConnection implements DatabaseConnection {
  release?: () => void;
  readonly #client: EmbeddedClient;
  constructor(client: EmbeddedClient) {
    this.#client = client;
  }

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    if (compiled.parameters.length === 0 && /;\s*\S/.test(compiled.sql)) {
      // Several statements (a migration file): only the simple protocol accepts them.
      const results = await this.#client.exec(compiled.sql);
      const last = results.at(-1);
      return { rows: (last?.rows ?? []) as R[] };
    }
    const result = await this.#client.query<R>(compiled.sql, compiled.parameters as unknown[]);
    return {
      rows: result.rows,
      numAffectedRows: result.affectedRows === undefined ? undefined : BigInt(result.affectedRows),
    };
  }

  // biome-ignore lint/correctness/useYield: streaming is not offered by PGlite
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('PGlite does not support streaming queries');
  }
}
