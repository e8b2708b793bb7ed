import { type Static, type TObject, type TSchema, Type } from '@sinclair/typebox';
import { displayNamePattern, ListOf, listQueryProperties, PublicId, Timestamp } from './common.ts';
import { MoneyV2 } from './money.ts';
import { defineOperations } from './operation.ts';
import { OrderCancelReason } from './orders.ts';
import {
  PaymentAuthorizedData,
  PaymentCapturedData,
  PaymentFailedData,
  PaymentId,
  PaymentMethod,
  PaymentRefundedData,
  PaymentVoidedData,
} from './payments-events.ts';
import { serviceCatalog } from './services.ts';
// armature:new-service event-imports

/**
 * Domain events: what a service tells the others after a state change. The envelope is the same for
 * every type; `data` is the type's own schema. Event schemas are versioned on their own (`version`),
 * apart from the API's request and response shapes, so the API can change without breaking a consumer.
 * Ids inside events are public ids (`usr_…`, `ord_…`, `prd_…`), money is integer minor units plus an
 * ISO 4217 currency, and field names are camelCase, as in the API.
 */

export const EventId = PublicId('evt');
const UserId = PublicId('usr');
const OrderId = PublicId('ord');
const ProductId = PublicId('prd');

/** W3C Trace Context `traceparent`, so a consumer's span joins the trace of the request that caused it. */
export const Traceparent = Type.String({
  pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$',
  maxLength: 55,
  examples: ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
});

const UserRole = Type.Union([Type.Literal('member'), Type.Literal('admin')]);
const Email = Type.String({
  minLength: 3,
  maxLength: 254,
  pattern: '^[^\\s@]+@[^\\s@]+$',
  examples: ['user@example.com'],
});
/** Names of users and products: the API's rule (no control or bidirectional-override characters). */
const Text = (maxLength: number, example: string) =>
  Type.String({ minLength: 1, maxLength, pattern: displayNamePattern, examples: [example] });
const Name = Text(100, 'John Doe');
/** The aggregate's optimistic-locking version after the change: a consumer can ignore stale events. */
const AggregateVersion = Type.Integer({ minimum: 1, maximum: 2_147_483_647 });
const OrderStatus = Type.Union(
  ['pending', 'paid', 'shipped', 'delivered', 'cancelled'].map((status) => Type.Literal(status)),
);

const strict = { additionalProperties: false } as const;

export const UserCreatedData = Type.Object(
  {
    userId: UserId,
    email: Email,
    name: Name,
    role: UserRole,
    version: AggregateVersion,
    createdAt: Timestamp,
  },
  { ...strict, title: 'UserCreatedData' },
);

export const UserUpdatedData = Type.Object(
  {
    userId: UserId,
    email: Email,
    name: Name,
    role: UserRole,
    version: AggregateVersion,
    updatedAt: Timestamp,
    /** Which of the fields above changed. */
    changed: Type.Array(Type.Union([Type.Literal('email'), Type.Literal('name'), Type.Literal('role')]), {
      maxItems: 3,
      uniqueItems: true,
    }),
  },
  { ...strict, title: 'UserUpdatedData' },
);

export const UserDeletedData = Type.Object(
  { userId: UserId, version: AggregateVersion, deletedAt: Timestamp },
  { ...strict, title: 'UserDeletedData' },
);

const OrderLine = Type.Object(
  {
    productId: ProductId,
    name: Text(200, 'Espresso cup'),
    quantity: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    unitPrice: MoneyV2,
  },
  { ...strict, title: 'OrderLine' },
);

export const OrderCreatedData = Type.Object(
  {
    orderId: OrderId,
    userId: UserId,
    status: OrderStatus,
    total: MoneyV2,
    itemCount: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    items: Type.Array(OrderLine, { maxItems: 1000 }),
    /** The method the customer pays with; absent, the order waits for payment by other means. */
    paymentMethod: Type.Optional(PaymentMethod),
    version: AggregateVersion,
    createdAt: Timestamp,
  },
  { ...strict, title: 'OrderCreatedData' },
);

export const OrderUpdatedData = Type.Object(
  {
    orderId: OrderId,
    userId: UserId,
    status: OrderStatus,
    previousStatus: OrderStatus,
    total: MoneyV2,
    version: AggregateVersion,
    updatedAt: Timestamp,
  },
  { ...strict, title: 'OrderUpdatedData' },
);

export const OrderCancelledData = Type.Object(
  {
    orderId: OrderId,
    userId: UserId,
    previousStatus: OrderStatus,
    /**
     * `requested`: by the customer or an admin; `user_deleted`: the customer's account was deleted;
     * `payment_failed`: the payment was declined; `payment_timeout`: not paid in time.
     */
    reason: OrderCancelReason,
    total: MoneyV2,
    /** Units put back in stock, per product. */
    restocked: Type.Array(
      Type.Object(
        { productId: ProductId, quantity: Type.Integer({ minimum: 1, maximum: 1_000_000 }) },
        strict,
      ),
      { maxItems: 1000 },
    ),
    version: AggregateVersion,
    cancelledAt: Timestamp,
  },
  { ...strict, title: 'OrderCancelledData' },
);

/** Every event type and the schema of its `data`. */
export const eventDataSchemas = {
  'user.created': UserCreatedData,
  'user.updated': UserUpdatedData,
  'user.deleted': UserDeletedData,
  'order.created': OrderCreatedData,
  'order.updated': OrderUpdatedData,
  'order.cancelled': OrderCancelledData,
  'payment.authorized': PaymentAuthorizedData,
  'payment.captured': PaymentCapturedData,
  'payment.failed': PaymentFailedData,
  'payment.voided': PaymentVoidedData,
  'payment.refunded': PaymentRefundedData,
  // armature:new-service event-data
} as const satisfies Record<string, TObject>;

export type EventType = keyof typeof eventDataSchemas;
export const eventTypes = Object.keys(eventDataSchemas) as EventType[];
export type EventData<T extends EventType> = Static<(typeof eventDataSchemas)[T]>;

/** The version of each type's `data` schema; bump it (and keep reading the old one) on a breaking change. */
export const eventSchemaVersion = 1;

/** The envelope around one type's data. */
export const eventEnvelope = <T extends string, D extends TSchema>(type: T, aggregateId: TSchema, data: D) =>
  Type.Object(
    {
      id: EventId,
      type: Type.Literal(type),
      /** The public id of the entity that changed (`usr_…`, `ord_…`). */
      aggregateId,
      timestamp: Timestamp,
      version: Type.Integer({ minimum: 1, maximum: 1000, description: 'Version of the `data` schema' }),
      traceparent: Type.Optional(Traceparent),
      data,
    },
    { ...strict, title: `${type} event` },
  );

export const UserCreatedEvent = eventEnvelope('user.created', UserId, UserCreatedData);
export const UserUpdatedEvent = eventEnvelope('user.updated', UserId, UserUpdatedData);
export const UserDeletedEvent = eventEnvelope('user.deleted', UserId, UserDeletedData);
export const OrderCreatedEvent = eventEnvelope('order.created', OrderId, OrderCreatedData);
export const OrderUpdatedEvent = eventEnvelope('order.updated', OrderId, OrderUpdatedData);
export const OrderCancelledEvent = eventEnvelope('order.cancelled', OrderId, OrderCancelledData);
export const PaymentAuthorizedEvent = eventEnvelope('payment.authorized', PaymentId, PaymentAuthorizedData);
export const PaymentCapturedEvent = eventEnvelope('payment.captured', PaymentId, PaymentCapturedData);
export const PaymentFailedEvent = eventEnvelope('payment.failed', PaymentId, PaymentFailedData);
export const PaymentVoidedEvent = eventEnvelope('payment.voided', PaymentId, PaymentVoidedData);
export const PaymentRefundedEvent = eventEnvelope('payment.refunded', PaymentId, PaymentRefundedData);
// armature:new-service event-envelopes

/** Any domain event: the union of every type's envelope. */
export const DomainEvent = Type.Union(
  [
    UserCreatedEvent,
    UserUpdatedEvent,
    UserDeletedEvent,
    OrderCreatedEvent,
    OrderUpdatedEvent,
    OrderCancelledEvent,
    PaymentAuthorizedEvent,
    PaymentCapturedEvent,
    PaymentFailedEvent,
    PaymentVoidedEvent,
    PaymentRefundedEvent,
    // armature:new-service event-union
  ],
  { $id: 'DomainEvent', title: 'DomainEvent' },
);
export type DomainEvent = Static<typeof DomainEvent>;
/** One type's event, e.g. `TypedEvent<'user.deleted'>`. */
export type TypedEvent<T extends EventType> = Extract<DomainEvent, { type: T }>;

/** `GET /events`: newest first, both paginations, filtered by type and aggregate (no sort, no fields). */
export const EventListQuery = Type.Object(
  {
    page: listQueryProperties.page,
    limit: listQueryProperties.limit,
    cursor: listQueryProperties.cursor,
    type: Type.Optional(Type.Union(eventTypes.map((type) => Type.Literal(type)))),
    aggregateId: Type.Optional(
      Type.String({
        pattern: `^(${serviceCatalog.map((entry) => entry.events.idPrefix).join('|')})_[0-7][0-9a-hjkmnp-tv-z]{25}$`,
        maxLength: 64,
        description: `The id of an entity that changed: ${serviceCatalog.map((entry) => `\`${entry.events.idPrefix}_…\``).join(', ')}`,
        examples: ['usr_01h455vb4pex5vsknk084sn02q'],
      }),
    ),
  },
  { additionalProperties: false },
);
export type EventListQuery = Static<typeof EventListQuery>;

export const EventList = ListOf(DomainEvent);

export const eventsOperations = defineOperations({
  listEvents: {
    operationId: 'listEvents',
    service: 'users',
    method: 'GET',
    path: '/events',
    summary: 'Recent domain events (admin), newest first',
    description:
      'Each service lists the events it published, from its outbox (kept for the retention period). ' +
      'Through the gateway, the filter names the source: `type=user.*` or `aggregateId=usr_…` reads the ' +
      'users service, `type=order.*` or `aggregateId=ord_…` the orders service; a request naming ' +
      'neither is a 400. Offset (`page`) or keyset (`cursor`) pagination. Money in events is always ' +
      'integer minor units, whatever the API version.',
    tags: ['Events'],
    access: 'admin',
    query: EventListQuery,
    responses: { 200: EventList },
    errors: [400, 401, 403],
    list: true,
  },
});
