import { newUuid } from '@armature/platform';
import { type Kysely, sql, type Transaction } from 'kysely';
import { type CartLine, planOrder } from '../domain/checkout.ts';
import { type IdempotencyClaim, type IdempotentOutcome, idempotent } from './idempotency.ts';
import type { OrderRow, OrdersDatabase } from './schema.ts';

export interface CheckoutRequest {
  userId: string;
  note: string | null;
  idempotency?: IdempotencyClaim;
  /** Told which products the order takes stock from (their cached copies are dropped after the commit). */
  onStockTaken?: (productIds: string[]) => void;
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
  return idempotent(db, request.idempotency, (trx) =>
    placeOrder(trx, request.userId, request.note, request.onStockTaken),
  );
}

async function placeOrder(
  trx: Transaction<OrdersDatabase>,
  userId: string,
  note: string | null,
  onStockTaken?: (productIds: string[]) => void,
): Promise<OrderRow> {
  // The two statements are PL/pgSQL functions (migration 0002) so their plans are cached.
  const { rows: cart } = await sql<CartLine>`select * from take_cart(${userId})`.execute(trx);
  const plan = planOrder(cart);
  const lines = plan.lines;
  onStockTaken?.(lines.map((line) => line.productId));
  const { rows } = await sql<OrderRow>`
    select * from place_order(
      ${newUuid()}, ${userId}, ${plan.totalAmount}, ${plan.currency}, ${plan.itemCount}, ${note},
      ${lines.map((line) => line.productId)}, ${lines.map((line) => line.quantity)},
      ${lines.map((line) => line.unitAmount)}, ${lines.map((line) => line.name)}
    )`.execute(trx);
  return rows[0]!;
}
