import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createNetServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshStore } from '@armature/testing/databases';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { type ColumnType, sql } from 'kysely';
import { type Database, openDatabase } from '../db/database.ts';
import type { EventHandler } from './consumer.ts';
import type { EventEnvelope } from './envelope.ts';
import type { EventTables } from './outbox.ts';

/**
 * Helpers for the event tests: a fresh database with the event tables and an `effects` table the
 * handlers write to (one row per application, so a second application shows as a second row), NATS
 * stream clean-up, and a nats-server of the test's own that it may stop and restart.
 */

export interface EffectsTable {
  event_id: string;
  consumer: string;
  aggregate_id: string;
  applied_at: ColumnType<Date, Date | undefined, Date>;
}
export interface TestSchema extends EventTables {
  effects: EffectsTable;
}

export interface TestDatabase extends Database<TestSchema> {
  drop(): Promise<void>;
  /** Empties the tables between tests (opening an embedded database costs seconds). */
  reset(): Promise<void>;
  /** How many times the effect of each event was applied, by event id. */
  effectCounts(consumer?: string): Promise<Map<string, number>>;
}

const migrationsFolder = new URL('./sql/', import.meta.url).pathname;

export async function eventsDatabase(label: string): Promise<TestDatabase> {
  const store = await freshStore(label);
  const database = await openDatabase<TestSchema>({
    service: label,
    url: store.url,
    dataDir: store.dataDir,
    migrationsFolder,
    poolSize: 5,
  });
  await sql`create table effects (
    event_id text not null,
    consumer text not null,
    aggregate_id text not null,
    applied_at timestamptz not null default now()
  )`.execute(database.db);
  return {
    ...database,
    async drop() {
      await database.close();
      await store.drop();
    },
    async reset() {
      await sql`truncate outbox, inbox, effects restart identity`.execute(database.db);
    },
    async effectCounts(consumer) {
      let query = database.db.selectFrom('effects').select(['event_id', sql<number>`count(*)::int`.as('n')]);
      if (consumer) query = query.where('consumer', '=', consumer);
      const rows = await query.groupBy('event_id').execute();
      return new Map(rows.map((row) => [row.event_id, row.n]));
    },
  };
}

/** A handler whose effect is one `effects` row, written in the consumer's transaction. */
export function recordEffect(consumer: string): EventHandler<TestSchema> {
  return async (trx, event) => {
    await trx
      .insertInto('effects')
      .values({ event_id: event.id, consumer, aggregate_id: event.aggregateId })
      .execute();
  };
}

export function testEvent(type: string, aggregateId: string, data: Record<string, unknown> = {}) {
  return { type, aggregateId, data };
}

/** A unique stream name per test (streams may not share subjects on one server). */
export function uniqueStream(label: string): string {
  return `T_${label.toUpperCase().replace(/\W/g, '_')}_${randomBytes(4).toString('hex').toUpperCase()}`;
}

export const natsTestUrl = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

export async function deleteStream(url: string, stream: string): Promise<void> {
  const nc = await connect({ servers: url, timeout: 2000 }).catch(() => undefined);
  if (!nc) return;
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(stream).catch(() => {});
  } finally {
    await nc.close();
  }
}

/** Publishes straight to JetStream without a `Nats-Msg-Id`: the server cannot deduplicate it. */
export async function publishRaw(url: string, subject: string, payload: string): Promise<void> {
  const nc = await connect({ servers: url, timeout: 2000 });
  try {
    await jetstream(nc).publish(subject, payload);
  } finally {
    await nc.close();
  }
}

/** How many messages the stream holds on each subject matching `filter`. */
export async function subjectCounts(
  url: string,
  stream: string,
  filter: string,
): Promise<Record<string, number>> {
  const nc = await connect({ servers: url, timeout: 2000 });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream, { subjects_filter: filter });
    return { ...(info.state.subjects ?? {}) };
  } finally {
    await nc.close();
  }
}

/** The last message stored on `subject`, with its headers. */
export async function lastMessage(
  url: string,
  stream: string,
  subject: string,
): Promise<{ data: string; headers: Record<string, string> } | undefined> {
  const nc = await connect({ servers: url, timeout: 2000 });
  try {
    const jsm = await jetstreamManager(nc);
    const message = await jsm.streams.getMessage(stream, { last_by_subj: subject });
    if (!message) return undefined;
    const headers: Record<string, string> = {};
    for (const [key, values] of message.header ?? []) headers[key] = values.join(',');
    return { data: message.string(), headers };
  } finally {
    await nc.close();
  }
}

/** Polls `probe` until it returns a truthy value, or fails after `timeoutMs` with `what`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A nats-server of the test's own, with JetStream on a private store: stopped and restarted at will
 * (the machine's shared server is never touched). The store survives a restart, as in production.
 */
export class OwnNatsServer {
  readonly port: number;
  readonly url: string;
  readonly #storeDir: string;
  #process?: ChildProcess;

  private constructor(port: number, storeDir: string) {
    this.port = port;
    this.url = `nats://127.0.0.1:${port}`;
    this.#storeDir = storeDir;
  }

  static async create(): Promise<OwnNatsServer> {
    const server = new OwnNatsServer(await freePort(), await mkdtemp(join(tmpdir(), 'armature-nats-')));
    await server.start();
    return server;
  }

  /** Starts the server unless it runs already (a second one on the same port would orphan the first). */
  async start(): Promise<void> {
    if (this.#process && this.#process.exitCode === null && this.#process.signalCode === null) return;
    const binary = process.env.NATS_SERVER_BIN ?? 'nats-server';
    const child = spawn(binary, ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.#storeDir], {
      stdio: 'ignore',
    });
    this.#process = child;
    await eventually(`nats-server on port ${this.port}`, async () => {
      if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}`);
      return portOpen(this.port);
    });
  }

  async stop(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    await rm(this.#storeDir, { recursive: true, force: true });
  }
}

/** The events a test saw, in delivery order. */
export function collector(): { seen: EventEnvelope[]; handler: EventHandler<TestSchema> } {
  const seen: EventEnvelope[] = [];
  return {
    seen,
    handler: async (trx, event) => {
      await trx
        .insertInto('effects')
        .values({ event_id: event.id, consumer: 'collector', aggregate_id: event.aggregateId })
        .execute();
      seen.push(event);
    },
  };
}
