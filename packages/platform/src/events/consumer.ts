import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { TSchema } from '@sinclair/typebox';
import { FormatRegistry } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import type { Kysely, Transaction } from 'kysely';
import type { Tracing } from '../tracing.ts';
import { type EventEnvelope, eventUuid, PoisonEventError } from './envelope.ts';
import { type EventLog, silentLog } from './log.ts';
import type { EventMetrics } from './metrics.ts';
import { type EventTables, eventTables, type WithEvents } from './outbox.ts';
import { withWorkContext, workContext } from './trace-context.ts';
import type { Delivery, EventTransport, SubscribeOptions, Subscription } from './transport.ts';

/** Handles one event type inside the transaction that also records the event in the inbox. */
// biome-ignore lint/suspicious/noExplicitAny: the handler sees the service's own schema.
export type EventHandler<DB = any, E extends EventEnvelope = EventEnvelope<string, any>> = (
  trx: Transaction<DB>,
  event: E,
) => Promise<void>;

export type HandleOutcome = 'handled' | 'duplicate' | 'skipped';

export interface InboxConsumerOptions<DB> {
  db: WithEvents<DB>;
  /** The durable consumer's name, recorded with each handled event id. */
  name: string;
  handlers: Record<string, EventHandler<DB>>;
  /**
   * Of the events of the handled types, those the handlers act on; the others are acknowledged as
   * skipped without a transaction or an inbox entry (a consumer of every new order that acts only on
   * those paid by card, say). Absent: all of them.
   */
  relevant?: (event: EventEnvelope) => boolean;
  /** The schema of each type's `data`; an event whose data does not match is dead-lettered at once. */
  schemas?: Record<string, TSchema>;
  log?: EventLog;
  metrics?: EventMetrics;
  /** When tracing is on: a CONSUMER span per event, the child of the request that wrote it. */
  tracing?: Tracing;
  /**
   * Runs after the transaction committed and before the delivery is acknowledged. Tests use it to
   * stand in for a crash at the worst moment (effect done, ack not sent).
   */
  afterCommit?: (
    event: EventEnvelope,
    outcome: HandleOutcome,
    effects: { eventsWritten: boolean },
  ) => Promise<void>;
}

// TypeBox checks `format` only for formats it knows; teach it the one the event schemas use.
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set(
    'date-time',
    (value) => !Number.isNaN(Date.parse(value)) && /^\d{4}-\d{2}-\d{2}T/.test(value),
  );
}

/**
 * Turns handlers into an idempotent delivery handler: each event runs in one database transaction
 * that first inserts `(event id, consumer)` into `inbox`. An id already there means the effect was
 * committed before (a redelivery, a republish, a crash before the ack): the event is skipped. Two
 * instances receiving the same event at once serialize on the inbox key; the second sees the first's
 * row once it commits. Only after the commit does the returned promise resolve, and only then does
 * the transport acknowledge.
 */
export function inboxHandler<DB>(
  options: InboxConsumerOptions<DB>,
): (event: EventEnvelope, delivery: Delivery) => Promise<HandleOutcome> {
  const db = eventTables(options.db) as unknown as Kysely<EventTables>;
  const log = options.log ?? silentLog;
  const checks = new Map<string, TypeCheck<TSchema>>();
  for (const [type, schema] of Object.entries(options.schemas ?? {}))
    checks.set(type, TypeCompiler.Compile(schema));

  return async (event, delivery) => {
    const labels = { consumer: options.name, type: event.type };
    const handler = Object.hasOwn(options.handlers, event.type) ? options.handlers[event.type] : undefined;
    if (!handler) {
      options.metrics?.consumed.inc({ ...labels, outcome: 'skipped' });
      return 'skipped';
    }
    const check = checks.get(event.type);
    if (check && !check.Check(event.data)) {
      const first = check.Errors(event.data).First();
      throw new PoisonEventError(
        `data does not match the ${event.type} schema${first ? `: ${first.path || '/'} ${first.message}` : ''}`,
      );
    }
    const eventId = eventUuid(event.id);
    if (!eventId) throw new PoisonEventError(`"${event.id}" is not an event id`);
    if (options.relevant && !options.relevant(event)) {
      options.metrics?.consumed.inc({ ...labels, outcome: 'skipped' });
      return 'skipped';
    }

    const span = options.tracing?.startSpan(`${event.type} process`, {
      kind: SpanKind.CONSUMER,
      traceparent: event.traceparent,
      attributes: {
        'messaging.operation.type': 'process',
        'messaging.destination.name': event.type,
        'messaging.consumer.group.name': options.name,
        'messaging.message.id': event.id,
        'armature.delivery_attempt': delivery.attempt,
      },
    });
    // Events the handler writes carry the trace of the event that caused them.
    const traceparent = span ? options.tracing!.traceparentOf(span) : event.traceparent;
    let outcome: HandleOutcome;
    const work = workContext(traceparent);
    try {
      outcome = await withWorkContext(work, () =>
        db.transaction().execute(async (trx): Promise<HandleOutcome> => {
          const recorded = await trx
            .insertInto('inbox')
            .values({ event_id: eventId, consumer: options.name, event_type: event.type })
            .onConflict((conflict) => conflict.columns(['event_id', 'consumer']).doNothing())
            .returning('event_id')
            .executeTakeFirst();
          if (!recorded) return 'duplicate';
          await handler(trx as unknown as Transaction<DB>, event);
          return 'handled';
        }),
      );
      span?.setAttribute('armature.outcome', outcome);
    } catch (error) {
      span?.recordException(error as Error);
      span?.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span?.end();
    }
    options.metrics?.consumed.inc({ ...labels, outcome });
    log.debug({ ...labels, eventId: event.id, attempt: delivery.attempt, outcome }, 'event consumed');
    await options.afterCommit?.(event, outcome, { eventsWritten: work.eventsWritten });
    return outcome;
  };
}

export interface ConsumerDefinition<DB> extends InboxConsumerOptions<DB> {
  maxDeliver?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  ackWaitMs?: number;
}

/** Subscribes a durable consumer whose handlers run idempotently (see `inboxHandler`). */
export function startConsumer<DB>(
  transport: EventTransport,
  definition: ConsumerDefinition<DB>,
): Promise<Subscription> {
  const handle = inboxHandler(definition);
  const options: SubscribeOptions = {
    durable: definition.name,
    types: Object.keys(definition.handlers),
    handle: async (event, delivery) => void (await handle(event, delivery)),
    maxDeliver: definition.maxDeliver ?? 5,
    backoffMs: definition.backoffMs ?? 500,
    maxBackoffMs: definition.maxBackoffMs ?? 30_000,
    ackWaitMs: definition.ackWaitMs ?? 30_000,
    log: definition.log,
    metrics: definition.metrics,
  };
  return transport.subscribe(options);
}
