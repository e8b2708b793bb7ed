import {
  ApiError,
  eventsInsert,
  type IdempotencyClaim,
  type IdempotentOutcome,
  idempotent,
  newUuid,
} from '@armature/platform';
import { type Kysely, sql, type Transaction } from 'kysely';
import { type CartLine, type OrderPlan, planOrder } from '../domain/checkout.ts';
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
 * Places an order from the user's cart: the cart is emptied, unit prices are captured, stock is
 * taken, the order and its lines are written with its `order.created` event, all or nothing (and,
 * with an `Idempotency-Key`, the result is stored under it). A user the customers projection knows
 * as deleted is a 404. Refusals (empty cart, shortages) are thrown from `planOrder` and change
 * nothing.
 *
 * Without a key, a checkout is two statements, each its own transaction: the cart is read, the
 * order planned from it, and the plan placed by one statement that takes effect only if the cart and
 * its products are still as read (`place_planned_order`, migration 0015); otherwise the cart is read
 * again. A checkout that keeps finding its cart changed, and one under a key, lock the cart first and
 * plan under the lock in one transaction.
 */
export async function checkout(
  db: Kysely<OrdersDatabase>,
  request: CheckoutRequest,
): Promise<IdempotentOutcome<OrderRow>> {
  if (!request.idempotency) {
    for (let attempt = 0; attempt < optimisticAttempts; attempt++) {
      const placed = await placeAsRead(db, request);
      if (placed) return { kind: 'fresh', value: placed };
    }
  }
  return idempotent(db, request.idempotency, (trx) => placeOrder(trx, request));
}

/** Reads of a cart that changed before its plan was placed, before checkout locks the cart instead. */
const optimisticAttempts = 3;

/** Cart and customer as read, unlocked; the plan is placed only if they are still the same. */
async function placeAsRead(
  db: Kysely<OrdersDatabase>,
  request: CheckoutRequest,
): Promise<OrderRow | undefined> {
  const plan = planOrder(await readCheckoutCart(db, request.userId));
  const order = await placePlannedOrder(db, request, plan);
  if (order) request.onStockTaken?.(plan.lines.map((line) => line.productId));
  return order;
}

/** The user's cart lines with their products as they are now, unlocked; 404 for a deleted customer. */
export async function readCheckoutCart(db: Kysely<OrdersDatabase>, userId: string): Promise<CartLine[]> {
  const { rows } = await sql<CartLine & { customerStatus: CustomerStatus | null }>`
    select * from read_checkout_cart(${userId})`.execute(db);
  if (rows[0]?.customerStatus === 'deleted') throw customerGone();
  return rows;
}

/**
 * Places an order planned from `readCheckoutCart`, in one statement that is its own transaction;
 * undefined (and nothing changed) when the cart or one of its products is no longer as read.
 */
export async function placePlannedOrder(
  db: Kysely<OrdersDatabase>,
  request: CheckoutRequest,
  plan: OrderPlan,
): Promise<OrderRow | undefined> {
  try {
    return await insertOrder(db, 'place_planned_order', request, plan);
  } catch (error) {
    const state = sqlState(error);
    if (state === 'CK001') throw customerGone();
    if (state === 'CK002') return undefined;
    throw error;
  }
}

/** The locked way: takes the cart in the transaction, plans, and places the order in it. */
async function placeOrder(trx: Transaction<OrdersDatabase>, request: CheckoutRequest): Promise<OrderRow> {
  const { userId, onStockTaken } = request;
  // The two statements are PL/pgSQL functions (migration 0002) so their plans are cached. The
  // first also share-locks the user's row in the customers projection: a `user.deleted` being
  // applied waits for this checkout and then cancels its order too, and a checkout after it sees
  // the deletion and is refused.
  const { rows: cart } = await sql<CartLine & { customerStatus: CustomerStatus | null }>`
    select t.*, c.status as "customerStatus"
    from take_cart(${userId}) t
    left join lateral (select status from customers where id = ${userId} for share) c on true`.execute(trx);
  if (cart[0]?.customerStatus === 'deleted') throw customerGone();
  const plan = planOrder(cart);
  onStockTaken?.(plan.lines.map((line) => line.productId));
  return insertOrder(trx, 'place_order', request, plan);
}

/** The order of a plan with its `order.created` event, in one statement (the event is a CTE). */
async function insertOrder(
  db: Kysely<OrdersDatabase> | Transaction<OrdersDatabase>,
  fn: 'place_order' | 'place_planned_order',
  { userId, note, paymentMethod }: CheckoutRequest,
  plan: OrderPlan,
): Promise<OrderRow> {
  const lines = plan.lines;
  const id = newUuid();
  const { statement: event } = eventsInsert([
    orderCreated({ id, userId, paymentMethod, createdAt: new Date() }, plan),
  ]);
  const { rows } = await sql<OrderRow>`
    with placed as (
      select * from ${sql.raw(fn)}(
        ${id}, ${userId}, ${plan.totalAmount}, ${plan.currency}, ${plan.itemCount}, ${note},
        ${lines.map((line) => line.productId)}, ${lines.map((line) => line.quantity)},
        ${lines.map((line) => line.unitAmount)}, ${lines.map((line) => line.name)}, ${paymentMethod}
      )
    ), event as (${event})
    select * from placed`.execute(db);
  return rows[0]!;
}

function customerGone(): ApiError {
  return new ApiError('NOT_FOUND', { message: 'The user does not exist' });
}

/** The SQLSTATE of a database error (drivers may wrap it). */
function sqlState(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    if (typeof code === 'string') return code;
    current = cause;
  }
  return undefined;
}
