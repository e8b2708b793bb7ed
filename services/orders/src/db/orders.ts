import {
  appendEvent,
  appendEvents,
  type EventInput,
  fetchPage,
  orderColumns,
  type Page,
  type PageParams,
} from '@armature/platform';
import { type Kysely, sql, type Transaction } from 'kysely';
import { orderCancelled } from '../events/published/order-cancelled.ts';
import { orderUpdated } from '../events/published/order-updated.ts';
import type { OrderItemRow, OrderRow, OrderStatus, OrdersDatabase } from './schema.ts';

type Db = Kysely<OrdersDatabase>;

export type OrderSortKey = 'createdAt' | 'total';

export interface OrderFilters {
  /** One user's orders; unset → everyone's (admins). */
  userId?: string;
  status?: OrderStatus;
  /** Created at or after. */
  createdAfter?: Date;
  /** Created strictly before. */
  createdBefore?: Date;
  /** Minor units. */
  minTotal?: number;
  maxTotal?: number;
}

const sortColumns: Record<OrderSortKey, string> = {
  createdAt: 'orders.created_at',
  total: 'orders.total_amount',
};

export async function findOrder(db: Db, id: string): Promise<OrderRow | undefined> {
  return db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A page of orders, filtered and sorted; each sort has an index, with or without a user. */
export async function listOrders(
  db: Db,
  filters: OrderFilters,
  page: PageParams<OrderSortKey>,
): Promise<Page<OrderRow>> {
  let filtered = db.selectFrom('orders');
  if (filters.userId !== undefined) filtered = filtered.where('user_id', '=', filters.userId);
  if (filters.status !== undefined) filtered = filtered.where('status', '=', filters.status);
  if (filters.createdAfter !== undefined) filtered = filtered.where('created_at', '>=', filters.createdAfter);
  if (filters.createdBefore !== undefined)
    filtered = filtered.where('created_at', '<', filters.createdBefore);
  if (filters.minTotal !== undefined) filtered = filtered.where('total_amount', '>=', filters.minTotal);
  if (filters.maxTotal !== undefined) filtered = filtered.where('total_amount', '<=', filters.maxTotal);
  const order = orderColumns(page.sort, sortColumns, 'orders.id');
  return fetchPage(filtered, (query) => query.selectAll(), order, page);
}

/** An order's lines in cart order; keyset pages continue after a line number. */
export async function listOrderItems(
  db: Db,
  orderId: string,
  page: { limit: number; offset?: number; after?: unknown[] },
): Promise<Page<OrderItemRow>> {
  const filtered = db.selectFrom('order_items').where('order_id', '=', orderId);
  const order = [{ column: 'order_items.line', direction: 'asc' as const }];
  return fetchPage(filtered, (query) => query.selectAll(), order, page);
}

export interface StatusChange {
  id: string;
  /** The version the caller saw; the change applies only if it is still current. */
  version: number;
  status: OrderStatus;
  /** Give the order's units back to stock (cancelling). */
  restock: boolean;
}

/**
 * Optimistic locking as `UPDATE … WHERE id = $1 AND version = $2`: undefined when no row matched,
 * i.e. someone changed the order since the caller read it. Restocking happens in the same
 * transaction, with products locked in id order like checkout does, and so does the order's event
 * (`order.cancelled` for a cancellation, `order.updated` otherwise).
 */
export async function changeOrderStatus(db: Db, change: StatusChange): Promise<OrderRow | undefined> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<ChangedOrder>`
      update orders o set status = ${change.status}, version = o.version + 1, updated_at = now(),
        cancel_reason = case when ${change.status} = 'cancelled' then 'requested' else o.cancel_reason end
      from (select id, status from orders where id = ${change.id} for update) previous
      where o.id = previous.id and o.version = ${change.version}
      returning o.*, previous.status as previous_status`.execute(trx);
    if (rows.length === 0) return undefined;
    const { previous_status: previousStatus, ...updated } = rows[0]!;
    const restocked = change.restock ? await restock(trx, [updated.id]) : [];
    const event: EventInput =
      updated.status === 'cancelled'
        ? orderCancelled(updated, previousStatus, 'requested', restocked)
        : orderUpdated(updated, previousStatus);
    await appendEvent(trx, event);
    return updated;
  });
}

export type ChangedOrder = OrderRow & { previous_status: OrderStatus };

/**
 * Gives the units of these orders back to stock (products locked in id order, like checkout) and
 * returns what went back, per order and product.
 */
export async function restock(
  trx: Transaction<OrdersDatabase>,
  orderIds: string[],
): Promise<Array<{ orderId: string; productId: string; quantity: number }>> {
  await sql`
    select p.id from products p
    where p.id in (select product_id from order_items where order_id = any(${orderIds}::uuid[]))
    order by p.id
    for no key update`.execute(trx);
  const { rows } = await sql<{ orderId: string; productId: string; quantity: number }>`
    select order_id as "orderId", product_id as "productId", sum(quantity)::int as quantity
    from order_items where order_id = any(${orderIds}::uuid[])
    group by order_id, product_id
    order by order_id, product_id`.execute(trx);
  await sql`
    update products p set stock = p.stock + returned.quantity, updated_at = now()
    from (
      select product_id, sum(quantity)::int as quantity from order_items
      where order_id = any(${orderIds}::uuid[]) group by product_id
    ) returned
    where p.id = returned.product_id`.execute(trx);
  return rows;
}

/**
 * The user was deleted: cancels their pending and paid orders (stock returned, one `order.cancelled`
 * each, reason `user_deleted`) and empties their cart, in the caller's transaction. Orders already
 * shipped or delivered stay as they are. Returns the orders cancelled and the products restocked.
 */
export async function cancelOpenOrdersOfUser(
  trx: Transaction<OrdersDatabase>,
  userId: string,
): Promise<{ cancelled: OrderRow[]; restockedProducts: string[] }> {
  await trx.deleteFrom('cart_items').where('user_id', '=', userId).execute();
  const { rows } = await sql<ChangedOrder>`
    update orders o set status = 'cancelled', version = o.version + 1, updated_at = now(),
      cancel_reason = 'user_deleted'
    from (
      select id, status from orders
      where user_id = ${userId} and status in ('pending', 'paid')
      order by id
      for update
    ) previous
    where o.id = previous.id
    returning o.*, previous.status as previous_status`.execute(trx);
  if (rows.length === 0) return { cancelled: [], restockedProducts: [] };
  const returned = await restock(
    trx,
    rows.map((row) => row.id),
  );
  const cancelled = rows.map(({ previous_status: _previous, ...order }) => order);
  await appendEvents(
    trx,
    rows.map(({ previous_status: previousStatus, ...order }) =>
      orderCancelled(
        order,
        previousStatus,
        'user_deleted',
        returned.filter((line) => line.orderId === order.id),
      ),
    ),
  );
  return { cancelled, restockedProducts: [...new Set(returned.map((line) => line.productId))] };
}
