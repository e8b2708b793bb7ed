import {
  type ApiVersion,
  orderFields,
  orderSortKeys,
  ordersOperations,
  type PaymentFailureReason,
} from '@armature/contracts';
import {
  ApiError,
  type App,
  expectedVersion,
  idempotencyClaim,
  isoTimestamp,
  type ListQueryInput,
  type ListSpec,
  listBody,
  parseInstant,
  principalOf,
  type RequestWithId,
  readListQuery,
  registerOperation,
  requirePublicId,
  toPublicId,
} from '@armature/platform';
import { replyCached } from '@armature/platform/cache/index';
import { amountFromVersion, moneyView } from '@armature/platform/money';
import { checkout } from '../db/checkout.ts';
import {
  changeOrderStatus,
  findOrder,
  listOrderItems,
  listOrders,
  type OrderFilters,
  type OrderSortKey,
} from '../db/orders.ts';
import type { OrderItemRow, OrderRow, OrderStatus } from '../db/schema.ts';
import { CartEmptyError, MixedCurrenciesError, OutOfStockError } from '../domain/checkout.ts';
import { judgeTransition, returnsStock } from '../domain/order-lifecycle.ts';
import { routeUser } from './cart.ts';
import type { OrdersContext } from './routes.ts';

/**
 * Public ids of the users seen lately. Every row of a user's list names the same user, and encoding
 * an id is a measurable part of rendering a page; the map is bounded by clearing it when full.
 */
const publicUserIds = new Map<string, string>();
function publicUserId(uuid: string): string {
  let id = publicUserIds.get(uuid);
  if (id === undefined) {
    if (publicUserIds.size >= 10_000) publicUserIds.clear();
    id = toPublicId('user', uuid);
    publicUserIds.set(uuid, id);
  }
  return id;
}

/**
 * A user's order lists are cached per page, `user:{id}:orders:v{n}?{query}`, for ten minutes, tagged
 * `user:{id}:orders` (dropped by every change to one of their orders) and `user:{id}`.
 */
const orderListTtlMs = 10 * 60 * 1000;
const ordersTag = (userId: string) => `user:${userId}:orders`;

/** An order row as the API shows it; also renders the JSON snapshot an idempotent replay stores. */
export function orderView(row: OrderRow, version: ApiVersion) {
  return {
    id: toPublicId('order', row.id),
    userId: publicUserId(row.user_id),
    status: row.status,
    total: moneyView(row.total_amount, row.currency, version),
    itemCount: row.item_count,
    note: row.note,
    payment:
      row.payment_method && row.payment_status
        ? {
            method: row.payment_method,
            status: row.payment_status,
            failureReason: row.payment_failure_reason as PaymentFailureReason | null,
          }
        : null,
    cancelReason: row.cancel_reason,
    version: row.version,
    createdAt: isoTimestamp(row.created_at),
    updatedAt: isoTimestamp(row.updated_at),
  };
}

function orderItemView(row: OrderItemRow, currency: string, version: ApiVersion) {
  return {
    productId: toPublicId('product', row.product_id),
    name: row.name,
    unitPrice: moneyView(row.unit_amount, currency, version),
    quantity: row.quantity,
    lineTotal: moneyView(row.unit_amount * row.quantity, currency, version),
  };
}

const orderList: ListSpec<OrderSortKey, OrderRow> = {
  name: 'orders',
  sortKeys: orderSortKeys,
  defaultSort: [{ key: 'createdAt', direction: 'desc' }],
  fields: orderFields,
  sortValue: (row, key) => (key === 'createdAt' ? row.created_at.toISOString() : row.total_amount),
  idOf: (row) => row.id,
};

const itemList: ListSpec<never, OrderItemRow> = {
  name: 'order-items',
  sortKeys: [],
  defaultSort: [],
  sortValue: () => undefined,
  idOf: (row) => row.line,
};

type OrderListQuery = ListQueryInput & {
  status?: OrderStatus;
  createdAfter?: string;
  createdBefore?: string;
  minTotal?: number;
  maxTotal?: number;
};

function invalid(field: string, message: string): ApiError {
  return new ApiError('VALIDATION_ERROR', { details: [{ field, message }] });
}

function orderFilters(
  query: OrderListQuery,
  currency: string,
  version: ApiVersion,
): Omit<OrderFilters, 'userId'> {
  const total = (field: 'minTotal' | 'maxTotal') => {
    const value = query[field];
    if (value === undefined) return undefined;
    const amount = amountFromVersion(value, currency, version);
    if (amount === undefined) {
      throw invalid(
        field,
        version === 1 ? `has more decimals than ${currency} allows` : 'must be an integer',
      );
    }
    return amount;
  };
  return {
    status: query.status,
    createdAfter: parseInstant('createdAfter', query.createdAfter),
    createdBefore: parseInstant('createdBefore', query.createdBefore),
    minTotal: total('minTotal'),
    maxTotal: total('maxTotal'),
  };
}

/**
 * The order named by `{id}` if the caller may see it: its owner or an admin. Anyone else: 404.
 * `fresh` reads the primary (before a write); otherwise the replica may answer, and an order it does
 * not have yet (created a moment ago, elsewhere) is looked for on the primary before a 404.
 */
async function visibleOrder(
  context: OrdersContext,
  request: RequestWithId,
  { fresh = false } = {},
): Promise<OrderRow> {
  const { id } = request.params;
  const uuid = requirePublicId('order', id);
  const principal = principalOf(request);
  const order = fresh
    ? await findOrder(context.db, uuid)
    : await context.reads.run(principal.userId, (reader) => findOrder(reader, uuid), {
        recheckOnPrimary: (row) => row === undefined,
      });
  if (!order || (!principal.isAdmin && publicUserId(order.user_id) !== principal.userId)) {
    throw new ApiError('NOT_FOUND');
  }
  return order;
}

export function registerOrderRoutes(app: App, context: OrdersContext): void {
  const { db, currency, cursors, cache, customers } = context;
  const ops = ordersOperations;

  registerOperation(
    app,
    ops.checkout,
    async (request, reply, version) => {
      const userId = routeUser(request);
      await customers.assertActive(userId, request.headers.authorization);
      const note = request.body.note ?? null;
      const paymentMethod = request.body.paymentMethod ?? null;
      // Without a method the fingerprint is what it always was, so keys stored before still match.
      const idempotency = idempotencyClaim(
        request,
        'checkout',
        paymentMethod ? [userId, note, paymentMethod] : [userId, note],
      );
      let outcome: Awaited<ReturnType<typeof checkout>>;
      let taken: string[] = [];
      const onStockTaken = (productIds: string[]) => {
        taken = productIds;
      };
      try {
        outcome = await checkout(db, { userId, note, paymentMethod, idempotency, onStockTaken });
      } catch (error) {
        throw checkoutRefusal(error);
      }
      if (outcome.kind === 'mismatch') throw new ApiError('IDEMPOTENCY_CONFLICT');
      // A new order (not a replay): the user's lists and the stock of its products changed.
      if (taken.length > 0)
        await cache.invalidate([ordersTag(userId), ...taken.map((id) => `product:${id}`)]);
      const view = orderView(outcome.value, version);
      return reply.code(201).header('location', `/v${version}/orders/${view.id}`).send(view);
    },
    {
      // The body is optional: a bare POST checks the cart out.
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
    },
  );

  /** A page of orders; `caller` set: read where the read rules say (replica or primary), else the primary. */
  const list = async (
    query: OrderListQuery,
    version: ApiVersion,
    userId: string | undefined,
    caller?: { id: string },
  ) => {
    const listRequest = readListQuery(query, orderList, cursors);
    const filters = { ...orderFilters(query, currency, version), userId };
    const page = caller
      ? await context.reads.run(caller.id, (reader) => listOrders(reader, filters, listRequest.page))
      : await listOrders(db, filters, listRequest.page);
    return listBody(page, listRequest, orderList, cursors, (row) => orderView(row, version));
  };

  registerOperation(app, ops.listUserOrders, async (request, reply, version) => {
    const userId = routeUser(request);
    // One entry per page: the query (filters, sort, fields, page or cursor) is part of the key.
    // Filled from the primary: a page read from a lagging replica would stay cached past the lag.
    const query = request.url.indexOf('?');
    const key = `${ordersTag(userId)}:v${version}${query === -1 ? '' : request.url.slice(query)}`;
    await replyCached(request, reply, cache, key, () => list(request.query, version, userId), {
      ttl: orderListTtlMs,
      tags: [ordersTag(userId), `user:${userId}`],
    });
    return reply;
  });

  registerOperation(app, ops.listOrders, (request, _reply, version) => {
    const principal = principalOf(request);
    return list(
      request.query,
      version,
      principal.isAdmin ? undefined : requirePublicId('user', principal.userId),
      { id: principal.userId },
    );
  });

  registerOperation(app, ops.getOrder, async (request, _reply, version) =>
    orderView(await visibleOrder(context, request), version),
  );

  registerOperation(app, ops.listOrderItems, async (request, _reply, version) => {
    const order = await visibleOrder(context, request);
    const listRequest = readListQuery(request.query, itemList, cursors);
    const page = await context.reads.run(principalOf(request).userId, (reader) =>
      listOrderItems(reader, order.id, listRequest.page),
    );
    return listBody(page, listRequest, itemList, cursors, (row) =>
      orderItemView(row, order.currency, version),
    );
  });

  registerOperation(app, ops.updateOrder, async (request, _reply, version) => {
    const { body } = request;
    const expected = expectedVersion(body.version, request.headers['if-match'], 'order');
    if (expected === undefined) throw invalid('version', 'is required (in the body or as If-Match)');
    const order = await visibleOrder(context, request, { fresh: true });
    if (order.version !== expected) throw new ApiError('VERSION_CONFLICT');
    const verdict = judgeTransition(order.status, body.status, principalOf(request));
    if (verdict === 'invalid') {
      throw new ApiError('INVALID_TRANSITION', {
        message: `An order cannot go from ${order.status} to ${body.status}`,
      });
    }
    if (verdict === 'forbidden') {
      throw new ApiError('FORBIDDEN', { message: 'Members may only cancel their own pending orders' });
    }
    const updated = await changeOrderStatus(db, {
      id: order.id,
      version: expected,
      status: body.status,
      restock: returnsStock(body.status),
    });
    if (!updated) throw new ApiError('VERSION_CONFLICT');
    const stale = [ordersTag(order.user_id)];
    if (returnsStock(body.status)) {
      // Its units went back to stock: the cached products are out of date.
      const { rows } = await listOrderItems(db, order.id, { limit: 10_000 });
      for (const item of rows) stale.push(`product:${item.product_id}`);
    }
    await cache.invalidate(stale);
    return orderView(updated, version);
  });
}

/** Checkout's refusals as API errors; anything else passes through. */
function checkoutRefusal(error: unknown): unknown {
  if (error instanceof CartEmptyError) return new ApiError('CART_EMPTY');
  if (error instanceof OutOfStockError) {
    return new ApiError('INSUFFICIENT_STOCK', {
      details: error.shortages.map((shortage) => ({
        field: toPublicId('product', shortage.productId),
        message:
          shortage.available === 0
            ? `requested ${shortage.requested}, none available`
            : `requested ${shortage.requested}, only ${shortage.available} available`,
      })),
    });
  }
  if (error instanceof MixedCurrenciesError) {
    return new ApiError('UNPROCESSABLE', { message: error.message });
  }
  return error;
}
