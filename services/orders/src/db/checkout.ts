import { newUuid } from '@armature/platform';
import { type Kysely, sql, type Transaction } from 'kysely';
import { type CartLine, planOrder } from '../domain/checkout.ts';
import { type IdempotencyClaim, type IdempotentOutcome, idempotent } from './idempotency.ts';
import type { OrderRow, OrdersDatabase } from './schema.ts';

export interface CheckoutRequest {
  userId: string;
  note: string | null;
  idempotency?: IdempotencyClaim;
}

/**
 * Places an order from the user's cart in one transaction: the cart is emptied, unit prices are
 * captured, stock is taken, the order and its lines are written (and, with an `Idempotency-Key`,
 * the result is stored under it). Refusals (empty cart, shortages) are thrown from `planOrder` and
 * roll everything back, the cart included.
 */
export async function checkout(
  db: Kysely<OrdersDatabase>,
  request: CheckoutRequest,
): Promise<IdempotentOutcome<OrderRow>> {
  return idempotent(db, request.idempotency, (trx) => placeOrder(trx, request.userId, request.note));
}

async function placeOrder(
  trx: Transaction<OrdersDatabase>,
  userId: string,
  note: string | null,
): Promise<OrderRow> {
  // Deleting the cart's lines first locks them: a second checkout of the same cart waits here and
  // then finds nothing. Products are locked in id order, so checkouts sharing products never deadlock;
  // `no key update` still lets other carts reference them meanwhile.
  const { rows: cart } = await sql<CartLine>`
    with taken as (
      delete from cart_items where user_id = ${userId} returning product_id, quantity, added_at
    )
    select p.id as "productId", p.name, p.price_amount as "unitAmount", p.currency, p.stock,
           p.deleted_at is not null as deleted, taken.quantity, taken.added_at as "addedAt"
    from taken join products p on p.id = taken.product_id
    order by p.id
    for no key update of p`.execute(trx);
  const plan = planOrder(cart);

  const id = newUuid();
  const lines = plan.lines;
  // One statement for the rest: take the stock (guarded, though the locks already ensure it), write
  // the order and its lines.
  const { rows } = await sql<OrderRow & { taken: number }>`
    with lines as (
      select * from unnest(
        ${lines.map((line) => line.productId)}::uuid[],
        ${lines.map((line) => line.quantity)}::int[],
        ${lines.map((line) => line.unitAmount)}::bigint[],
        ${lines.map((line) => line.name)}::text[],
        ${lines.map((line) => line.line)}::int[]
      ) as l (product_id, quantity, unit_amount, name, line)
    ),
    taken as (
      update products p set stock = p.stock - l.quantity, updated_at = now()
      from lines l where p.id = l.product_id and p.stock >= l.quantity
      returning p.id
    ),
    placed as (
      insert into orders (id, user_id, total_amount, currency, item_count, note)
      values (${id}, ${userId}, ${plan.totalAmount}, ${plan.currency}, ${plan.itemCount}, ${note})
      returning *
    ),
    items as (
      insert into order_items (order_id, line, product_id, name, unit_amount, quantity)
      select ${id}, l.line, l.product_id, l.name, l.unit_amount, l.quantity from lines l
    )
    select placed.*, (select count(*) from taken)::int as taken from placed`.execute(trx);
  const { taken, ...order } = rows[0]!;
  if (taken !== lines.length) throw new Error('stock changed while its rows were locked');
  return order;
}
