import { type Static, Type } from '@sinclair/typebox';
import { ListOf, listQueryProperties, PublicId, Timestamp } from './common.ts';
import { defineOperations } from './operation.ts';
import { serviceCatalog, serviceNames } from './services.ts';

/**
 * Dead letters: events a consumer gave up on (its handler failed `maxDeliver` times, or the event
 * could not be read or did not match its schema). Each service keeps the dead letters of its own
 * consumers, in the in-process bus (embedded) or in the JetStream stream (scale-out). An admin can
 * inspect one, replay it (deliver it to that consumer once more, now) or discard it.
 */

export const ServiceParam = Type.Union(
  serviceNames.map((name) => Type.Literal(name)),
  { description: 'The service whose consumers dead-lettered the events' },
);

const EventId = PublicId('evt');
const ConsumerName = Type.String({
  pattern: '^[a-z][a-z0-9-]*$',
  maxLength: 64,
  description: 'A durable consumer (usually the consuming service’s name)',
  examples: ['orders'],
});

/** The envelope as it was received; not checked against the event type's schema (it may be the cause). */
export const DeadLetterEnvelope = Type.Object(
  {
    id: EventId,
    type: Type.String({ pattern: '^[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)+$', maxLength: 200 }),
    aggregateId: Type.Union(serviceCatalog.map((entry) => PublicId(entry.events.idPrefix))),
    timestamp: Timestamp,
    version: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    traceparent: Type.Optional(
      Type.String({ pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$', maxLength: 55 }),
    ),
    data: Type.Unknown({ description: "The event's data, as published" }),
  },
  { additionalProperties: false, title: 'DeadLetterEnvelope' },
);

export const DeadLetter = Type.Object(
  {
    /** The event's id: a consumer holds at most one dead letter per event. */
    id: EventId,
    service: Type.String({ pattern: '^[a-z][a-z0-9-]*$', maxLength: 64 }),
    /** The durable consumer that gave up. */
    consumer: ConsumerName,
    event: DeadLetterEnvelope,
    /** Deliveries tried, replays included. */
    attempts: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
    /** The last attempt's error message. */
    lastError: Type.String({ maxLength: 1000, pattern: '^[\\s\\S]*$' }),
    deadLetteredAt: Timestamp,
  },
  { additionalProperties: false, title: 'DeadLetter' },
);
export type DeadLetter = Static<typeof DeadLetter>;

export const DeadLetterListQuery = Type.Object(
  {
    page: listQueryProperties.page,
    limit: listQueryProperties.limit,
    cursor: listQueryProperties.cursor,
    consumer: Type.Optional(ConsumerName),
    type: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)+$', maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type DeadLetterListQuery = Static<typeof DeadLetterListQuery>;

export const DeadLetterList = ListOf(DeadLetter);

const ServiceParams = Type.Object({ service: ServiceParam }, { additionalProperties: false });
const DeadLetterParams = Type.Object(
  {
    service: ServiceParam,
    consumer: ConsumerName,
    id: Type.String({ maxLength: 64, description: 'An `evt_…` id' }),
  },
  { additionalProperties: false },
);

/** What a replay did: the consumer handled the event now, or had already handled it (its inbox). */
export const Replay = Type.Object(
  {
    consumer: ConsumerName,
    eventId: EventId,
    outcome: Type.Union([Type.Literal('handled'), Type.Literal('duplicate'), Type.Literal('skipped')]),
    replayedAt: Timestamp,
  },
  { additionalProperties: false, title: 'Replay' },
);
export type Replay = Static<typeof Replay>;

export const deadLettersOperations = defineOperations({
  listDeadLetters: {
    operationId: 'listDeadLetters',
    service: 'orders',
    method: 'GET',
    path: '/services/{service}/dead-letters',
    summary: "A service's dead letters (admin), newest first",
    description:
      'The events the named service’s consumers gave up on, with the last error. Filter by `consumer` ' +
      'and `type`. Offset (`page`) or keyset (`cursor`) pagination. The gateway routes the request to ' +
      'the service named in the path.',
    tags: ['Events'],
    access: 'admin',
    params: ServiceParams,
    query: DeadLetterListQuery,
    responses: { 200: DeadLetterList },
    errors: [400, 401, 403],
    list: true,
  },
  getDeadLetter: {
    operationId: 'getDeadLetter',
    service: 'orders',
    method: 'GET',
    path: '/services/{service}/consumers/{consumer}/dead-letters/{id}',
    summary: 'One dead letter (admin): its envelope and last error',
    tags: ['Events'],
    access: 'admin',
    params: DeadLetterParams,
    responses: { 200: DeadLetter },
    errors: [401, 403, 404],
  },
  discardDeadLetter: {
    operationId: 'discardDeadLetter',
    service: 'orders',
    method: 'DELETE',
    path: '/services/{service}/consumers/{consumer}/dead-letters/{id}',
    summary: 'Discard a dead letter (admin, audited): the event is never delivered to that consumer',
    tags: ['Events'],
    access: 'admin',
    params: DeadLetterParams,
    responses: { 204: null },
    errors: [401, 403, 404],
  },
  replayDeadLetter: {
    operationId: 'replayDeadLetter',
    service: 'orders',
    method: 'POST',
    path: '/services/{service}/consumers/{consumer}/dead-letters/{id}/replays',
    summary: 'Replay a dead letter (admin, audited): deliver it to its consumer once more, now',
    description:
      'The consumer handles the event in one transaction with its inbox, as for a delivery, so the ' +
      'effect happens once however often it is replayed. On success the dead letter is removed (a ' +
      'second replay is a 404). When the handler fails again the dead letter stays, with the new ' +
      'error and one more attempt, and the answer is a 422 `REPLAY_FAILED` carrying that error.',
    tags: ['Events'],
    access: 'admin',
    params: DeadLetterParams,
    responses: { 200: Replay },
    errors: [401, 403, 404, 422],
  },
});
