import type { ColumnType, Generated, Kysely, Selectable, Transaction } from 'kysely';
import { isoTimestamp } from '../http/timestamps.ts';
import { toPublicId } from '../ids.ts';
import { type EventEnvelope, type EventInput, newEvent } from './envelope.ts';
import { currentTraceparent } from './trace-context.ts';

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
  const at = new Date();
  const traceparent = currentTraceparent();
  const events = inputs.map((input) => newEvent({ traceparent, ...input }, at));
  await tables(trx)
    .insertInto('outbox')
    .values(
      events.map((event) => ({
        id: event.uuid,
        type: event.type,
        aggregate_id: event.aggregateId,
        version: event.version,
        traceparent: event.traceparent ?? null,
        data: JSON.stringify(event.data),
        occurred_at: event.occurredAt,
      })),
    )
    .execute();
  return events.map(({ uuid: _uuid, occurredAt: _at, ...event }) => event);
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
