import {
  ApiError,
  eventsInsert,
  type IdempotencyClaim,
  type IdempotentOutcome,
  idempotent,
  newUuid,
} from '@armature/platform';
import { type Kysely, sql, type Transaction } from 'kysely';
import { type CartLine, planOrder } from '../domain/checkout.ts';
import { orderCreated } from '../events/published/order-created.ts';
import type { CustomerStatus, OrderRow, OrdersDatabase } from './schema.ts';

export interface CheckoutRequest {
  userId: string;
  note: string | null;
  /** The provider's payment method (`pm_…`); null: the order waits for payment by other means. */
  paymentMethod: string | null;
  idempotency?: IdempotencyClaim;
  /** Told which products the order takes stock from (their cached copies are dropped after the commit). */
  onStockTaken?: (productIds: string[]) => void;
}

/**
 * Places an order from the user's cart in one transaction: the cart is emptied, unit prices are
 * captured, stock is taken, the order and its lines are written with its `order.created` event
 * (and, with an `Idempotency-Key`, the result is stored under it). A user the customers projection
 * knows as deleted is a 404. Refusals (empty cart, shortages) are thrown from `planOrder` and
 * roll everything back, the cart included.
 */
export async function checkout(
  db: Kysely<OrdersDatabase>,
  request: CheckoutRequest,
): Promise<IdempotentOutcome<OrderRow>> {
  return idempotent(db, request.idempotency, (trx) => placeOrder(trx, request));
}

async function placeOrder(
  trx: Transaction<OrdersDatabase>,
  { userId, note, paymentMethod, onStockTaken }: CheckoutRequest,
): Promise<OrderRow> {
  // The two statements are PL/pgSQL functions (migration 0002) so their plans are cached. The
  // first also share-locks the user's row in the customers projection: a `user.deleted` being
  // applied waits for this checkout and then cancels its order too, and a checkout after it sees
  // the deletion and is refused.
  const { rows: cart } = await sql<CartLine & { customerStatus: CustomerStatus | null }>`
    select t.*, c.status as "customerStatus"
    from take_cart(${userId}) t
    left join lateral (select status from customers where id = ${userId} for share) c on true`.execute(trx);
  if (cart[0]?.customerStatus === 'deleted') {
    throw new ApiError('NOT_FOUND', { message: 'The user does not exist' });
  }
  const plan = planOrder(cart);
  const lines = plan.lines;
  onStockTaken?.(lines.map((line) => line.productId));
  const id = newUuid();
  // The order.created event rides in the same statement (a CTE): no extra round trip.
  const { statement: event } = eventsInsert([
    orderCreated({ id, userId, paymentMethod, createdAt: new Date() }, plan),
  ]);
  const { rows } = await sql<OrderRow>`
    with placed as (
      select * from place_order(
        ${id}, ${userId}, ${plan.totalAmount}, ${plan.currency}, ${plan.itemCount}, ${note},
        ${lines.map((line) => line.productId)}, ${lines.map((line) => line.quantity)},
        ${lines.map((line) => line.unitAmount)}, ${lines.map((line) => line.name)}, ${paymentMethod}
      )
    ), event as (${event})
    select * from placed`.execute(trx);
  return rows[0]!;
}
