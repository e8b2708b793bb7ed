import { type Kysely, sql } from 'kysely';
import { fetchPage, orderColumns, type Page, type PageParams } from './pagination.ts';
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
 * transaction, with products locked in id order like checkout does.
 */
export async function changeOrderStatus(db: Db, change: StatusChange): Promise<OrderRow | undefined> {
  return db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('orders')
      .set({ status: change.status, version: sql`version + 1`, updated_at: sql`now()` })
      .where('id', '=', change.id)
      .where('version', '=', change.version)
      .returningAll()
      .executeTakeFirst();
    if (!updated || !change.restock) return updated;
    await sql`
      select p.id from products p
      where p.id in (select product_id from order_items where order_id = ${change.id})
      order by p.id
      for no key update`.execute(trx);
    await sql`
      update products p set stock = p.stock + returned.quantity, updated_at = now()
      from (
        select product_id, sum(quantity)::int as quantity from order_items
        where order_id = ${change.id} group by product_id
      ) returned
      where p.id = returned.product_id`.execute(trx);
    return updated;
  });
}
