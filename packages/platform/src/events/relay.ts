import { type Kysely, sql } from 'kysely';
import { type EventLog, silentLog } from './log.ts';
import type { EventMetrics, OutboxState } from './metrics.ts';
import { envelopeOf, eventTables, type OutboxRow, type WithEvents } from './outbox.ts';
import { type EventTransport, TransportUnavailableError } from './transport.ts';

export interface RelayOptions {
  db: WithEvents;
  /** From `openDatabase`: PGlite is one process's database, PostgreSQL may be shared by many. */
  kind: 'pglite' | 'postgres';
  transport: EventTransport;
  log?: EventLog;
  metrics?: EventMetrics;
  /** Rows published per round trip. */
  batchSize?: number;
  /** The safety-net poll, for rows written by a path that did not wake the relay. */
  pollIntervalMs?: number;
  /** First delay after the transport failed; doubled on each further failure up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Published rows older than this are deleted (0 keeps them). */
  retentionMs?: number;
  /** Inbox entries older than this are deleted (0 keeps them); longer than any redelivery can come. */
  inboxRetentionMs?: number;
  pruneIntervalMs?: number;
}

type BatchOutcome = 'empty' | 'some' | 'full' | 'locked';

/** Any constant works: the lock lives in the service's own database. ('outbox' in ASCII.) */
const RELAY_LOCK_KEY = 0x6f7574626f78;
/** Another instance holds the relay lock: look again soon, in case it read before our commit. */
const LOCKED_RETRY_MS = 25;
const PRUNE_CHUNK = 5000;
/** PGlite databases whose relay lock is taken, by their Kysely handle. */
const localRelayLocks = new WeakSet<object>();

/**
 * Takes a PGlite database's relay lock (waiting for a batch in progress to be marked published) and
 * keeps its relay idle until the returned function is called: a backup's consistent point.
 */
export async function holdLocalRelayLock(db: object): Promise<() => void> {
  while (localRelayLocks.has(db)) await new Promise((resolve) => setTimeout(resolve, 5));
  localRelayLocks.add(db);
  return () => void localRelayLocks.delete(db);
}

/**
 * Publishes outbox rows in `seq` order and marks them published, only after the transport has
 * stored them: a failure (or a crash) leaves the rows for the next attempt, so nothing is lost.
 * A row may be published twice (the broker stored it, then marking it failed): the transport
 * deduplicates by event id where it can (JetStream `Nats-Msg-Id`), and the consumers' inboxes
 * absorb the rest.
 *
 * Several instances of a service share one PostgreSQL database. Each batch runs in a transaction
 * that first takes a transaction-scoped advisory lock (`pg_try_advisory_xact_lock`), so one
 * instance relays at a time. Row locking (`FOR UPDATE SKIP LOCKED`) would let instances publish
 * concurrently, but then two batches of the same aggregate could reach the broker out of order;
 * a lock per batch keeps the order per aggregate (indeed the global order), costs nothing when
 * there is no contention, is released by commit, rollback or a dropped connection, and passes to
 * another instance at the next batch if this one dies. One relay easily outpaces the writers (a
 * batch is one select, one pipelined publish, one update). PGlite belongs to one process, so there
 * the lock is an in-process one and the batch holds no connection while publishing (a handler of
 * the same process may need the connection to settle the very events being published).
 *
 * It wakes right after a commit in-process (`wake()`), polls slowly as a safety net, and backs off
 * exponentially while the transport is down.
 */
export class OutboxRelay {
  readonly #db: Kysely<import('./outbox.ts').EventTables>;
  readonly #kind: 'pglite' | 'postgres';
  readonly #transport: EventTransport;
  readonly #log: EventLog;
  readonly #metrics?: EventMetrics;
  readonly #batchSize: number;
  readonly #pollIntervalMs: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #retentionMs: number;
  readonly #inboxRetentionMs: number;
  readonly #pruneIntervalMs: number;

  #started = false;
  #stopped = false;
  #wanted = false;
  #running?: Promise<void>;
  #retryTimer?: NodeJS.Timeout;
  #pollTimer?: NodeJS.Timeout;
  #pruneTimer?: NodeJS.Timeout;
  #failures = 0;
  #idleWaiters: Array<() => void> = [];

  constructor(options: RelayOptions) {
    this.#db = eventTables(options.db);
    this.#kind = options.kind;
    this.#transport = options.transport;
    this.#log = options.log ?? silentLog;
    this.#metrics = options.metrics;
    this.#batchSize = options.batchSize ?? 100;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.#backoffMs = options.backoffMs ?? 200;
    this.#maxBackoffMs = options.maxBackoffMs ?? 5000;
    this.#retentionMs = options.retentionMs ?? 7 * 24 * 3_600_000;
    this.#inboxRetentionMs = options.inboxRetentionMs ?? 14 * 24 * 3_600_000;
    this.#pruneIntervalMs = options.pruneIntervalMs ?? 3_600_000;
    options.metrics?.observeOutbox(() => this.state());
  }

  /** Publishes what is waiting, then keeps going: on `wake()`, on the slow poll, after a backoff. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#pollTimer = setInterval(() => this.wake(), this.#pollIntervalMs).unref();
    if (this.#retentionMs > 0 || this.#inboxRetentionMs > 0) {
      this.#pruneTimer = setInterval(() => void this.prune(), this.#pruneIntervalMs).unref();
    }
    this.wake();
  }

  /** Something was committed to the outbox: publish it now (cheap to call often; calls coalesce). */
  wake(): void {
    if (!this.#started || this.#stopped) return;
    this.#wanted = true;
    // While backing off after a transport failure, wake-ups wait for the timer: no hammering.
    if (this.#running || this.#retryTimer) return;
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
      if (this.#wanted && !this.#retryTimer) this.wake();
      else if (!this.#retryTimer) for (const resolve of this.#idleWaiters.splice(0)) resolve();
    });
  }

  /** Stops polling and waits for the batch in flight; unpublished rows stay for the next start. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#pollTimer);
    clearInterval(this.#pruneTimer);
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    await this.#running;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** Resolves when the relay has nothing left to do right now (tests, shutdown). */
  idle(): Promise<void> {
    if (!this.#running && !this.#retryTimer && !this.#wanted) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Backlog and age of the oldest unpublished row, for the gauges. */
  async state(): Promise<OutboxState> {
    const { rows } = await sql<{ backlog: number; oldest: Date | null }>`
      select count(*)::int as backlog, min(occurred_at) as oldest
      from outbox where published_at is null`.execute(this.#db);
    const { backlog, oldest } = rows[0] ?? { backlog: 0, oldest: null };
    const age = oldest ? Math.max(0, (Date.now() - new Date(oldest).getTime()) / 1000) : 0;
    return { backlog, oldestAgeSeconds: age };
  }

  async #loop(): Promise<void> {
    while (this.#wanted && !this.#stopped) {
      this.#wanted = false;
      let outcome: BatchOutcome;
      try {
        outcome = this.#kind === 'postgres' ? await this.#lockedBatch() : await this.#localBatch();
      } catch (error) {
        this.#failed(error);
        return;
      }
      if (this.#failures > 0) {
        this.#log.info({ failures: this.#failures }, 'event transport is back: outbox relaying again');
        this.#failures = 0;
      }
      if (outcome === 'full') this.#wanted = true;
      if (outcome === 'locked') {
        this.#retryAfter(LOCKED_RETRY_MS);
        return;
      }
    }
  }

  #failed(error: unknown): void {
    this.#failures++;
    const delay = Math.min(this.#maxBackoffMs, this.#backoffMs * 2 ** (this.#failures - 1));
    const unavailable = error instanceof TransportUnavailableError;
    this.#metrics?.publishFailures.inc({ reason: unavailable ? 'transport_unavailable' : 'error' });
    // One line when the outage starts, then one per backoff step at most (the delay caps the rate).
    const details = { err: error, failures: this.#failures, retryInMs: delay };
    if (this.#failures === 1 || delay < this.#maxBackoffMs) {
      this.#log.warn(details, 'outbox relay could not publish; events stay in the outbox');
    } else {
      this.#log.debug(details, 'outbox relay still cannot publish');
    }
    this.#wanted = true;
    this.#retryAfter(delay);
  }

  #retryAfter(ms: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.wake();
    }, ms).unref();
  }

  /**
   * PostgreSQL: the batch holds the relay lock (see the class comment) until it commits. The lock is
   * taken by the statement that reads the batch (the rows are read only once it is held): three round
   * trips for an empty batch, four with the mark.
   */
  #lockedBatch(): Promise<BatchOutcome> {
    return this.#db.transaction().execute(async (trx) => {
      const { rows } = await sql<OutboxRow & { locked: boolean }>`
        select l.locked, o.*
        from (select pg_try_advisory_xact_lock(${RELAY_LOCK_KEY}::bigint) as locked) l
        left join lateral (
          select * from outbox where l.locked and published_at is null order by seq limit ${this.#batchSize}
        ) o on true`.execute(trx);
      if (!rows[0]?.locked) return 'locked';
      return this.#publish(trx, rows[0].seq === null ? [] : rows.map(({ locked: _locked, ...row }) => row));
    });
  }

  /** PGlite: the lock is in-process (one process owns the database); no connection is held meanwhile. */
  async #localBatch(): Promise<BatchOutcome> {
    if (localRelayLocks.has(this.#db)) return 'locked';
    localRelayLocks.add(this.#db);
    try {
      return await this.#batch(this.#db);
    } finally {
      localRelayLocks.delete(this.#db);
    }
  }

  async #batch(db: Kysely<import('./outbox.ts').EventTables>): Promise<BatchOutcome> {
    const rows: OutboxRow[] = await db
      .selectFrom('outbox')
      .selectAll()
      .where('published_at', 'is', null)
      .orderBy('seq')
      .limit(this.#batchSize)
      .execute();
    return this.#publish(db, rows);
  }

  /** Publishes rows read in `seq` order, then marks them published in one statement. */
  async #publish(db: Kysely<import('./outbox.ts').EventTables>, rows: OutboxRow[]): Promise<BatchOutcome> {
    if (rows.length === 0) return 'empty';
    await this.#transport.publish(rows.map(envelopeOf));
    // One array parameter rather than `in ($1, …, $n)`: a single statement text whatever the batch
    // size, so PostgreSQL prepares it once instead of one statement per size.
    await db
      .updateTable('outbox')
      .set({ published_at: sql<Date>`now()` })
      .where('seq', '=', sql<number>`any(${rows.map((row) => row.seq)}::bigint[])`)
      .execute();
    const now = Date.now();
    for (const row of rows) {
      this.#metrics?.published.inc({ type: row.type });
      this.#metrics?.relayDelay.observe(Math.max(0, now - new Date(row.occurred_at).getTime()) / 1000);
    }
    return rows.length === this.#batchSize ? 'full' : 'some';
  }

  /**
   * Deletes published rows past the retention and inbox entries past theirs, in chunks. Outbox rows
   * are found by a scan of the primary key from the oldest (rows are written in time order), inbox
   * entries by a range on their UUIDv7 ids: neither needs an index of its own.
   */
  async prune(now = Date.now()): Promise<{ outbox: number; inbox: number }> {
    let outbox = 0;
    let inbox = 0;
    try {
      if (this.#retentionMs > 0) {
        const cutoff = new Date(now - this.#retentionMs);
        const first = await this.#db
          .selectFrom('outbox')
          .select('seq')
          .where('occurred_at', '>=', cutoff)
          .orderBy('seq')
          .limit(1)
          .executeTakeFirst();
        const boundary = first?.seq ?? Number.MAX_SAFE_INTEGER;
        for (;;) {
          const { numDeletedRows } = await this.#db
            .deleteFrom('outbox')
            .where('seq', 'in', (eb) =>
              eb
                .selectFrom('outbox')
                .select('seq')
                .where('seq', '<', boundary)
                .where('published_at', 'is not', null)
                .orderBy('seq')
                .limit(PRUNE_CHUNK),
            )
            .executeTakeFirst();
          outbox += Number(numDeletedRows);
          if (Number(numDeletedRows) < PRUNE_CHUNK) break;
        }
      }
      if (this.#inboxRetentionMs > 0) {
        const { numDeletedRows } = await this.#db
          .deleteFrom('inbox')
          .where('event_id', '<', uuidv7Floor(now - this.#inboxRetentionMs))
          .executeTakeFirst();
        inbox = Number(numDeletedRows);
      }
      if (outbox + inbox > 0) this.#log.info({ outbox, inbox }, 'pruned old outbox and inbox entries');
    } catch (error) {
      this.#log.warn({ err: error }, 'pruning the outbox failed; will try again');
    }
    return { outbox, inbox };
  }
}

/** The smallest UUIDv7 of the given millisecond: every id made earlier sorts below it. */
export function uuidv7Floor(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-000000000000`;
}
