import { isoTimestamp } from '../http/timestamps.ts';
import { newUuid, parsePublicId, toPublicId } from '../ids.ts';

/**
 * A domain event as it travels: `{id, type, aggregateId, timestamp, version, traceparent?, data}`.
 * The schemas of each type live in `@armature/contracts` (`events.ts`); this module only moves them.
 */
export interface EventEnvelope<T extends string = string, D = unknown> {
  /** `evt_…`: a TypeID over the UUIDv7 the outbox and the inboxes store. */
  id: string;
  type: T;
  /** The public id of the entity that changed (`usr_…`, `ord_…`). */
  aggregateId: string;
  /** When the change happened, ISO 8601 UTC (`2024-01-15T10:30:00Z`). */
  timestamp: string;
  /** Version of the type's `data` schema. */
  version: number;
  /** W3C trace context of the request that caused the change. */
  traceparent?: string;
  data: D;
}

/** What a writer gives: the rest (id, timestamp, version 1) is filled in. */
export interface EventInput<T extends string = string, D = unknown> {
  type: T;
  aggregateId: string;
  data: D;
  traceparent?: string;
  version?: number;
}

const traceparentShape = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** A valid `traceparent` header value, or undefined (a malformed one is dropped, never propagated). */
export function traceparentOf(value: unknown): string | undefined {
  return typeof value === 'string' && traceparentShape.test(value) ? value : undefined;
}

/** The envelope for a new event, with a fresh UUIDv7 and the time now. */
export function newEvent<T extends string, D>(
  input: EventInput<T, D>,
  at: Date = new Date(),
): EventEnvelope<T, D> & { uuid: string; occurredAt: Date } {
  const uuid = newUuid();
  const traceparent = traceparentOf(input.traceparent);
  return {
    uuid,
    occurredAt: at,
    id: toPublicId('event', uuid),
    type: input.type,
    aggregateId: input.aggregateId,
    timestamp: isoTimestamp(at),
    version: input.version ?? 1,
    ...(traceparent ? { traceparent } : {}),
    data: input.data,
  };
}

/** The UUID behind an `evt_…` id, or undefined when it is not one. */
export function eventUuid(id: string): string | undefined {
  return parsePublicId('event', id);
}

/** The transport subject of a type: `events.user.created` for the prefix `events`. */
export function subjectOf(prefix: string, type: string): string {
  return `${prefix}.${type}`;
}

/**
 * Reads an event from the wire. Only the envelope is checked here (the handler's schema checks the
 * data); anything else is a poison message: retrying cannot make it readable.
 */
export function decodeEvent(payload: string | Uint8Array): EventEnvelope {
  const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
  const value: unknown = JSON.parse(text);
  if (!isEnvelope(value)) throw new PoisonEventError('not an event envelope');
  if (!eventUuid(value.id)) throw new PoisonEventError(`"${value.id}" is not an event id`);
  return value;
}

function isEnvelope(value: unknown): value is EventEnvelope {
  if (typeof value !== 'object' || value === null) return false;
  const event = value as Record<string, unknown>;
  return (
    typeof event.id === 'string' &&
    typeof event.type === 'string' &&
    typeof event.aggregateId === 'string' &&
    typeof event.timestamp === 'string' &&
    typeof event.version === 'number' &&
    typeof event.data === 'object' &&
    event.data !== null
  );
}

export function encodeEvent(event: EventEnvelope): string {
  const { id, type, aggregateId, timestamp, version, traceparent, data } = event;
  return JSON.stringify({ id, type, aggregateId, timestamp, version, traceparent, data });
}

/** An event no attempt can handle (unreadable, or data not matching its schema): dead-lettered at once. */
export class PoisonEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoisonEventError';
  }
}
