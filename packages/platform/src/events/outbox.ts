import {
  type ColumnType,
  type Generated,
  type Kysely,
  type RawBuilder,
  type Selectable,
  sql,
  type Transaction,
} from 'kysely';
import { isoTimestamp } from '../http/timestamps.ts';
import { toPublicId } from '../ids.ts';
import { type EventEnvelope, type EventInput, newEvent } from './envelope.ts';
import { currentTraceparent, noteEventsWritten } from './trace-context.ts';

/** Kysely types of the tables `sql/0010_events.sql` creates; a service adds them to its schema. */
export interface OutboxTable {
  seq: Generated<number>;
  id: string;
  type: string;
  aggregate_id: string;
  version: ColumnType<number, number | undefined, number>;
  traceparent: string | null;
  data: ColumnType<unknown, string, string>;
  occurred_at: ColumnType<Date, Date | string | undefined, Date | string>;
  published_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface InboxTable {
  consumer: string;
  event_id: string;
  event_type: string;
  handled_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface EventTables {
  outbox: OutboxTable;
  inbox: InboxTable;
}

export type OutboxRow = Selectable<OutboxTable>;

/** Any Kysely handle (a transaction or the database) over a schema that has the event tables. */
// biome-ignore lint/suspicious/noExplicitAny: a service's schema is any record that includes EventTables.
type WithEvents<DB = any> = Kysely<DB> | Transaction<DB>;
const tables = (db: WithEvents) => db as unknown as Kysely<EventTables>;

/**
 * Writes events in the caller's transaction: they exist exactly when the change they describe commits.
 * Call it after the statement that changes the aggregate, so that the aggregate's row lock orders
 * its events the way the changes happened. One insert, however many events. Without a
 * `traceparent` of their own, events take the one of the request (or event) being handled.
 */
export async function appendEvents<T extends string, D>(
  trx: WithEvents,
  inputs: readonly EventInput<T, D>[],
): Promise<EventEnvelope<T, D>[]> {
  if (inputs.length === 0) return [];
  const { events, statement } = eventsInsert(inputs);
  await statement.execute(trx);
  return events;
}

/**
 * The outbox insert as an SQL statement not yet run, for a writer that already sends one statement
 * per change: put it in that statement as a data-modifying CTE (`with …, events as (${statement}) …`)
 * and the event costs no extra round trip. Same rules as `appendEvents`; the events are returned
 * so the caller can build its answer or log them.
 */
export function eventsInsert<T extends string, D>(
  inputs: readonly EventInput<T, D>[],
): { events: EventEnvelope<T, D>[]; statement: RawBuilder<unknown> } {
  const at = new Date();
  const traceparent = currentTraceparent();
  const created = inputs.map((input) => newEvent({ traceparent, ...input }, at));
  noteEventsWritten();
  // unnest keeps the parameter count at seven whatever the number of events.
  const statement = sql`insert into outbox (id, type, aggregate_id, version, traceparent, data, occurred_at)
    select id, type, aggregate_id, version, traceparent, data::json, ${at}::timestamptz
    from unnest(
      ${created.map((event) => event.uuid)}::uuid[],
      ${created.map((event) => event.type)}::text[],
      ${created.map((event) => event.aggregateId)}::text[],
      ${created.map((event) => event.version)}::smallint[],
      ${created.map((event) => event.traceparent ?? null)}::text[],
      ${created.map((event) => JSON.stringify(event.data))}::text[]
    ) as e (id, type, aggregate_id, version, traceparent, data)`;
  return { events: created.map(({ uuid: _uuid, occurredAt: _at, ...event }) => event), statement };
}

/** One event in the caller's transaction; see `appendEvents`. */
export async function appendEvent<T extends string, D>(
  trx: WithEvents,
  input: EventInput<T, D>,
): Promise<EventEnvelope<T, D>> {
  const [event] = await appendEvents(trx, [input]);
  return event!;
}

/** An outbox row as the envelope it was written as. */
export function envelopeOf(row: OutboxRow): EventEnvelope {
  return {
    id: toPublicId('event', row.id),
    type: row.type,
    aggregateId: row.aggregate_id,
    timestamp: isoTimestamp(row.occurred_at),
    version: row.version,
    ...(row.traceparent ? { traceparent: row.traceparent } : {}),
    data: typeof row.data === 'string' ? JSON.parse(row.data) : row.data,
  };
}

export { tables as eventTables, type WithEvents };
