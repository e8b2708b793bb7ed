import type { Kysely } from 'kysely';
import { Counter, type Registry } from 'prom-client';
import type { Cache } from '../cache/cache.ts';
import { CircuitBreaker, isBrokenCircuitError } from '../resilience/circuit-breaker.ts';
import { type Database, openDatabase } from './database.ts';
import { isDatabaseUnavailable } from './unavailable.ts';

/** Why a read meant for the replica ran on the primary. */
export type ReadFallbackReason =
  /** Connection refused, reset or lost; the pool could not connect in time. */
  | 'unavailable'
  /** `the database system is starting up` (or shutting down, or recovering). */
  | 'starting_up'
  /** The statement ran past `READ_REPLICA_TIMEOUT_MS` (`statement_timeout` on the replica). */
  | 'timeout'
  /** The standby cancelled the statement to apply WAL (`conflict with recovery`). */
  | 'recovery_conflict'
  /** The replica failed lately: it is left alone until `READ_REPLICA_RETRY_MS` has passed. */
  | 'circuit_open';

export interface ReadReplicaSettings {
  /** `<SERVICE>_READ_DATABASE_URL`; unset → every read runs on the primary. */
  url?: string;
  /** Connections to the replica per instance (the primary's pool size). */
  poolSize: number;
  /** `READ_REPLICA_TIMEOUT_MS`: connecting to the replica, and each statement on it, at most this long. */
  timeoutMs: number;
  /** `READ_REPLICA_RETRY_MS`: after a failure the replica is skipped this long, then one read probes it. */
  retryMs: number;
  /** `READ_YOUR_WRITES_SECONDS`: after a caller's write is accepted, their reads go to the primary this long. */
  readYourWritesSeconds: number;
}

export interface ReadLogger {
  warn(object: object, message: string): void;
  info(object: object, message: string): void;
}

export interface ReadOptions<T> {
  /**
   * True when a result read on the replica may simply be one the replica has not caught up with
   * yet (a row not found by id): the read is then run again on the primary. Not a fallback.
   */
  recheckOnPrimary?: (result: T) => boolean;
}

/**
 * Where a service's read-only queries run: on the read replica when one is configured, up, and the
 * caller has not written lately; on the primary otherwise. Writes never come here: they use the
 * primary (`kit.db`) directly, as do transactions and idempotent replays.
 */
export interface Reads<DB> {
  /** Whether a replica is configured at all (PostgreSQL with `<SERVICE>_READ_DATABASE_URL`). */
  readonly hasReplica: boolean;
  /**
   * Runs `query` (read-only, outside any transaction) for `caller` (a user id, or undefined when
   * anonymous). On the replica unless `caller` wrote within `READ_YOUR_WRITES_SECONDS` or the
   * replica is out; a replica that fails to answer (down, starting up, too slow, a recovery
   * conflict) is a fallback: the query runs on the primary, logged and counted. Any other error
   * (a bad query) is the caller's.
   */
  run<T>(
    caller: string | undefined,
    query: (db: Kysely<DB>) => Promise<T>,
    options?: ReadOptions<T>,
  ): Promise<T>;
  /**
   * Records that `caller`'s write was accepted now: their reads stay on the primary for a while, on
   * this instance and, with a shared (Redis) cache, on every instance.
   */
  wrote(caller: string): Promise<void>;
  /** A round trip to the replica (health). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** How often a fallback is logged at most (every one is counted in the metrics). */
const LOG_INTERVAL_MS = 10_000;
/** Callers remembered as recent writers, at most; the oldest are forgotten first. */
const MAX_WRITERS = 100_000;

/** SQLSTATE query_canceled: `statement_timeout` on the replica. */
const QUERY_CANCELED = '57014';
/** SQLSTATE serialization_failure, as a standby sends it for `canceling statement due to conflict with recovery`. */
const SERIALIZATION_FAILURE = '40001';
const CANNOT_CONNECT_NOW = '57P03';

/** Why a replica error is a reason to read the primary instead, or undefined when it is the query's own fault. */
export function replicaFailure(error: unknown): Exclude<ReadFallbackReason, 'circuit_open'> | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code === QUERY_CANCELED) return 'timeout';
  if (code === SERIALIZATION_FAILURE && typeof message === 'string' && /recovery/.test(message))
    return 'recovery_conflict';
  if (code === CANNOT_CONNECT_NOW) return 'starting_up';
  if (typeof message === 'string' && /^timeout exceeded when trying to connect/.test(message))
    return 'timeout';
  if (isDatabaseUnavailable(error)) return 'unavailable';
  return undefined;
}

class ReplicaFailure extends Error {
  readonly reason: Exclude<ReadFallbackReason, 'circuit_open'>;
  constructor(reason: Exclude<ReadFallbackReason, 'circuit_open'>, cause: unknown) {
    super(`read replica: ${reason}`, { cause });
    this.reason = reason;
  }
}

/** Every read on the primary: no replica configured, or an embedded (PGlite) database. */
class PrimaryReads<DB> implements Reads<DB> {
  readonly hasReplica = false;
  readonly #primary: Kysely<DB>;
  constructor(primary: Kysely<DB>) {
    this.#primary = primary;
  }
  run<T>(_caller: string | undefined, query: (db: Kysely<DB>) => Promise<T>): Promise<T> {
    return query(this.#primary);
  }
  async wrote(): Promise<void> {}
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}

class ReplicaReads<DB> implements Reads<DB> {
  readonly hasReplica = true;
  readonly #primary: Kysely<DB>;
  readonly #replica: Database<DB>;
  readonly #settings: ReadReplicaSettings;
  readonly #breaker: CircuitBreaker;
  readonly #log: ReadLogger;
  readonly #fallbacks: Counter<'reason'>;
  readonly #reads: Counter<'target'>;
  /** Caller → when their last accepted write's read-your-writes window ends (ms since the epoch). */
  readonly #writers = new Map<string, number>();
  /** The same marks, shared by every instance (a Redis cache), or undefined. */
  readonly #shared: Cache | undefined;
  #unlogged = 0;
  #lastLogAt = 0;

  constructor(
    primary: Kysely<DB>,
    replica: Database<DB>,
    settings: ReadReplicaSettings,
    log: ReadLogger,
    registry: Registry | undefined,
    shared: Cache | undefined,
  ) {
    this.#shared = shared;
    this.#primary = primary;
    this.#replica = replica;
    this.#settings = settings;
    this.#log = log;
    this.#breaker = new CircuitBreaker({
      // One failure is enough: a fallback costs nothing but load on the primary, a replica that
      // refuses connections would otherwise slow every read down by a failed attempt.
      failureThreshold: 1,
      halfOpenAfterMs: settings.retryMs,
      isFailure: (error) => error instanceof ReplicaFailure && error.reason !== 'recovery_conflict',
    });
    this.#breaker.onStateChange((state) => {
      if (state !== 'closed') return;
      this.#log.info({ replica: 'up' }, 'read replica answers again; reads go to it');
      // The next outage is a new one: its first fallback is logged at once.
      this.#lastLogAt = 0;
    });
    const registers = registry ? [registry] : [];
    this.#fallbacks = new Counter({
      name: 'db_read_fallbacks_total',
      help: 'Reads meant for the read replica that ran on the primary because the replica could not answer',
      labelNames: ['reason'] as const,
      registers,
    });
    this.#reads = new Counter({
      name: 'db_reads_total',
      help: 'Read-only queries routed by the read-replica rules, by where they ran (replica or primary)',
      labelNames: ['target'] as const,
      registers,
    });
  }

  async run<T>(
    caller: string | undefined,
    query: (db: Kysely<DB>) => Promise<T>,
    options: ReadOptions<T> = {},
  ): Promise<T> {
    if (caller !== undefined && (await this.#recentWriter(caller))) return this.#onPrimary(query);
    if (!this.#breaker.acceptsCalls) {
      this.#fallback('circuit_open', undefined);
      return this.#onPrimary(query);
    }
    let result: T;
    try {
      result = await this.#breaker.execute(async () => {
        try {
          return await query(this.#replica.db);
        } catch (error) {
          const reason = replicaFailure(error);
          throw reason ? new ReplicaFailure(reason, error) : error;
        }
      });
    } catch (error) {
      if (error instanceof ReplicaFailure) {
        this.#fallback(error.reason, error.cause);
        return this.#onPrimary(query);
      }
      if (isBrokenCircuitError(error)) {
        this.#fallback('circuit_open', undefined);
        return this.#onPrimary(query);
      }
      throw error;
    }
    this.#reads.inc({ target: 'replica' });
    return options.recheckOnPrimary?.(result) ? this.#onPrimary(query) : result;
  }

  async wrote(caller: string): Promise<void> {
    const windowMs = this.#settings.readYourWritesSeconds * 1000;
    if (windowMs === 0) return;
    // Re-inserted so the map stays in order of last write: the oldest writers are first to go.
    this.#writers.delete(caller);
    this.#writers.set(caller, Date.now() + windowMs);
    if (this.#writers.size > MAX_WRITERS) {
      const oldest = this.#writers.keys().next().value;
      if (oldest !== undefined) this.#writers.delete(oldest);
    }
    // Never rejects: a cache that cannot store the mark makes `has` answer "cannot tell" later.
    await this.#shared?.set(writerKey(caller), '1', { ttl: windowMs });
  }

  ping(): Promise<void> {
    return this.#replica.ping();
  }

  close(): Promise<void> {
    return this.#replica.close();
  }

  /**
   * Whether `caller` wrote within the window: known here, or marked in the shared cache by another
   * instance. A shared cache that cannot answer counts as yes (the primary is always right).
   */
  async #recentWriter(caller: string): Promise<boolean> {
    const until = this.#writers.get(caller);
    if (until !== undefined) {
      if (until > Date.now()) return true;
      this.#writers.delete(caller);
    }
    if (this.#shared === undefined) return false;
    return (await this.#shared.has(writerKey(caller))) !== false;
  }

  #onPrimary<T>(query: (db: Kysely<DB>) => Promise<T>): Promise<T> {
    this.#reads.inc({ target: 'primary' });
    return query(this.#primary);
  }

  #fallback(reason: ReadFallbackReason, error: unknown): void {
    this.#fallbacks.inc({ reason });
    this.#unlogged++;
    const now = Date.now();
    if (now - this.#lastLogAt < LOG_INTERVAL_MS) return;
    this.#log.warn(
      { reason, err: error, fallbacks: this.#unlogged, breaker: this.#breaker.state },
      'read replica did not answer; read from the primary instead',
    );
    this.#unlogged = 0;
    this.#lastLogAt = now;
  }
}

const writerKey = (caller: string) => `reads:wrote:${caller}`;

export interface OpenReadsOptions<DB> {
  service: string;
  primary: Database<DB>;
  settings: ReadReplicaSettings;
  log: ReadLogger;
  /** Where `db_read_fallbacks_total` and `db_reads_total` are registered (the server's `/metrics`). */
  registry?: Registry;
  /** A cache every instance shares (Redis): read-your-own-writes marks are kept there too. */
  shared?: Cache;
}

/**
 * The read routing of a service. Without `settings.url`, or on an embedded (PGlite) primary, every
 * read runs on the primary. With it, a second pool to the replica (not migrated: a streaming
 * replica has the primary's schema); the pool connects lazily, so a replica down at start delays
 * nothing and costs only fallbacks.
 */
export async function openReads<DB>(options: OpenReadsOptions<DB>): Promise<Reads<DB>> {
  const { settings, primary, log } = options;
  if (!settings.url || primary.kind !== 'postgres') return new PrimaryReads(primary.db);
  const replica = await openDatabase<DB>({
    service: options.service,
    url: settings.url,
    dataDir: '',
    poolSize: settings.poolSize,
    connectTimeoutMs: settings.timeoutMs,
    statementTimeoutMs: settings.timeoutMs,
    onPoolError: (error) => log.warn({ err: error }, 'read replica connection lost'),
  });
  return new ReplicaReads(primary.db, replica, settings, log, options.registry, options.shared);
}
