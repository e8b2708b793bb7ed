import { type TSchema, Type } from '@sinclair/typebox';
import { IdParams, ListOf, ListQuery, listQueryProperties, PublicId, Timestamp } from './common.ts';
import { MoneyV1, MoneyV2 } from './money.ts';
import { defineOperations } from './operation.ts';
import { PaymentFailureReason, PaymentMethod } from './payments-events.ts';
import { IdempotencyHeaders, ProductId } from './products.ts';

export const OrderId = PublicId('ord');

export const orderStatuses = ['pending', 'paid', 'shipped', 'delivered', 'cancelled'] as const;
export const OrderStatus = Type.Union(
  orderStatuses.map((status) => Type.Literal(status)),
  { description: 'pending → paid → shipped → delivered; pending or paid → cancelled' },
);

const Version = Type.Integer({
  minimum: 1,
  maximum: 2_147_483_647,
  description: 'Optimistic-locking version; send it back to change the order',
});

/** Why an order was cancelled. */
export const OrderCancelReason = Type.Union(
  ['requested', 'user_deleted', 'payment_failed', 'payment_timeout'].map((reason) => Type.Literal(reason)),
);

export const orderPaymentStatuses = [
  'pending',
  'authorized',
  'captured',
  'failed',
  'voided',
  'refunded',
] as const;

/** The order's payment as the orders service last heard of it from the payments service. */
export const OrderPayment = Type.Object(
  {
    method: PaymentMethod,
    status: Type.Union(
      orderPaymentStatuses.map((status) => Type.Literal(status)),
      { description: 'pending → authorized → captured (→ refunded); pending → failed; authorized → voided' },
    ),
    failureReason: Type.Union([PaymentFailureReason, Type.Null()]),
  },
  { additionalProperties: false, $id: 'OrderPayment', title: 'OrderPayment' },
);

const orderProperties = (money: TSchema) => ({
  id: OrderId,
  userId: PublicId('usr'),
  status: OrderStatus,
  total: money,
  itemCount: Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Units ordered' }),
  note: Type.Union([Type.String({ maxLength: 500 }), Type.Null()]),
  /** `null` for an order checked out without a payment method (paid by other means). */
  payment: Type.Union([OrderPayment, Type.Null()]),
  /** Why a cancelled order was cancelled; `null` otherwise. */
  cancelReason: Type.Union([OrderCancelReason, Type.Null()]),
  version: Version,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const order = (money: TSchema, name: string) =>
  Type.Object(orderProperties(money), { additionalProperties: false, $id: name, title: name });

export const OrderV1 = order(MoneyV1, 'OrderV1');
export const OrderV2 = order(MoneyV2, 'OrderV2');

/** A list item: `fields` may leave out anything but the id. */
const orderListItem = (money: TSchema, name: string) => {
  const { id, ...rest } = orderProperties(money);
  return Type.Object(
    { id, ...Type.Partial(Type.Object(rest)).properties },
    { additionalProperties: false, $id: name, title: name },
  );
};

const orderItem = (money: TSchema, name: string) =>
  Type.Object(
    {
      productId: ProductId,
      name: Type.String({ maxLength: 200, description: 'The product name when ordered' }),
      unitPrice: money,
      quantity: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
      lineTotal: money,
    },
    { additionalProperties: false, $id: name, title: name },
  );

export const OrderItemV1 = orderItem(MoneyV1, 'OrderItemV1');
export const OrderItemV2 = orderItem(MoneyV2, 'OrderItemV2');

export const CheckoutInput = Type.Object(
  {
    note: Type.Optional(Type.String({ maxLength: 500, description: 'A note kept with the order' })),
    paymentMethod: Type.Optional(PaymentMethod),
  },
  { additionalProperties: false, $id: 'CheckoutInput', title: 'CheckoutInput' },
);

export const OrderStatusChange = Type.Object(
  {
    status: OrderStatus,
    version: Type.Optional(Version),
  },
  { additionalProperties: false, $id: 'OrderStatusChange', title: 'OrderStatusChange' },
);

export const orderSortKeys = ['createdAt', 'total'] as const;
export const orderFields = [
  'id',
  'userId',
  'status',
  'total',
  'itemCount',
  'note',
  'payment',
  'cancelReason',
  'version',
  'createdAt',
  'updatedAt',
] as const;

const Instant = Type.String({
  maxLength: 40,
  anyOf: [{ format: 'date' }, { format: 'date-time' }],
  description: 'A date (`2024-01-15`) or date-time (`2024-01-15T10:30:00Z`)',
});
const Total = (description: string) =>
  Type.Optional(Type.Number({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description }));

export const OrderListQuery = ListQuery({
  status: Type.Optional(OrderStatus),
  createdAfter: Type.Optional(Instant),
  createdBefore: Type.Optional(Instant),
  minTotal: Total('Lowest total: a decimal in v1, integer minor units in v2'),
  maxTotal: Total('Highest total: a decimal in v1, integer minor units in v2'),
});

/** An order's lines are a list too: both paginations, in the order they were added to the cart. */
export const OrderItemsQuery = Type.Object(
  { page: listQueryProperties.page, limit: listQueryProperties.limit, cursor: listQueryProperties.cursor },
  { additionalProperties: false },
);

const userParams = Type.Object(
  { id: Type.String({ maxLength: 64, description: 'A `usr_…` id, or `me`' }) },
  { additionalProperties: false },
);
const orderParams = IdParams('ord');
const versioned = { v1: OrderV1, v2: OrderV2 };
const versionedList = {
  v1: ListOf(orderListItem(MoneyV1, 'OrderListItemV1')),
  v2: ListOf(orderListItem(MoneyV2, 'OrderListItemV2')),
};

export const ordersOperations = defineOperations({
  checkout: {
    operationId: 'checkout',
    service: 'orders',
    method: 'POST',
    path: '/users/{id}/orders',
    summary: "Place an order from the user's cart: prices captured, stock taken, cart emptied",
    description:
      'Send an `Idempotency-Key` header to make retries safe: the same key returns the first response ' +
      'and creates nothing twice; the same key with a different body is a 409. With ' +
      '`CHECKOUT_REQUIRES_VERIFIED_EMAIL` set, a customer whose email is not verified gets 403 `EMAIL_NOT_VERIFIED`.',
    tags: ['Orders'],
    access: 'authenticated',
    // Checkout reserves stock and starts a payment: it takes five rate-limit tokens.
    cost: 5,
    params: userParams,
    headers: IdempotencyHeaders,
    body: CheckoutInput,
    responses: { 201: versioned },
    errors: [400, 401, 403, 409, 415, 422],
    idempotent: true,
  },
  listUserOrders: {
    operationId: 'listUserOrders',
    service: 'orders',
    method: 'GET',
    path: '/users/{id}/orders',
    summary: "A user's orders (self or admin): filters, sort by createdAt or total, both paginations",
    description:
      'Each page is served from the cache (`X-Cache`) until one of the user’s orders changes; its ' +
      '`ETag` in `If-None-Match` answers 304 without a body meanwhile.',
    tags: ['Orders'],
    access: 'authenticated',
    params: userParams,
    query: OrderListQuery,
    responses: { 200: versionedList, 304: null },
    errors: [400, 401, 403],
    list: true,
    cached: true,
  },
  listOrders: {
    operationId: 'listOrders',
    service: 'orders',
    method: 'GET',
    path: '/orders',
    summary: 'Orders: an admin sees all, a member their own',
    tags: ['Orders'],
    access: 'authenticated',
    query: OrderListQuery,
    responses: { 200: versionedList },
    errors: [400, 401],
    list: true,
  },
  getOrder: {
    operationId: 'getOrder',
    service: 'orders',
    method: 'GET',
    path: '/orders/{id}',
    summary: 'One order (its owner or an admin; anyone else gets 404)',
    tags: ['Orders'],
    access: 'authenticated',
    params: orderParams,
    responses: { 200: versioned },
    errors: [401, 404],
  },
  listOrderItems: {
    operationId: 'listOrderItems',
    service: 'orders',
    method: 'GET',
    path: '/orders/{id}/items',
    summary: 'The lines of an order, with the unit prices captured at checkout',
    tags: ['Orders'],
    access: 'authenticated',
    params: orderParams,
    query: OrderItemsQuery,
    responses: { 200: { v1: ListOf(OrderItemV1), v2: ListOf(OrderItemV2) } },
    errors: [400, 401, 404],
    list: true,
  },
  updateOrder: {
    operationId: 'updateOrder',
    service: 'orders',
    method: 'PATCH',
    path: '/orders/{id}',
    summary: "Change an order's status, with optimistic locking (`version` in the body or `If-Match`)",
    description:
      'A member may cancel their own order before it ships (a paid one is refunded); admins make every other allowed change. A stale ' +
      'version is a 409; a change the lifecycle does not allow is a 422. Cancelling returns the stock.',
    tags: ['Orders'],
    access: 'authenticated',
    params: orderParams,
    headers: Type.Object({
      'if-match': Type.Optional(
        Type.String({ maxLength: 64, description: 'The order version, e.g. `"3"` (instead of `version`)' }),
      ),
    }),
    body: OrderStatusChange,
    responses: { 200: versioned },
    errors: [400, 401, 403, 404, 409, 415, 422],
  },
});
