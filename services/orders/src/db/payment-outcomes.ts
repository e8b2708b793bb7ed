import { appendEvent, appendEvents } from '@armature/platform';
import { type Kysely, sql, type Transaction } from 'kysely';
import { orderCancelled } from '../events/published/order-cancelled.ts';
import { orderUpdated } from '../events/published/order-updated.ts';
import { type ChangedOrder, restock } from './orders.ts';
import type { CancelReason, OrderRow, OrdersDatabase, PaymentStatus } from './schema.ts';

type Trx = Transaction<OrdersDatabase>;

/**
 * The order's side of the payment saga. Each step applies only from the payment states that lead to
 * it, so an event delivered twice or late changes nothing the second time; each runs in the
 * transaction that records the event as handled.
 */

/** Moves the order's payment from one of `from` to `to` (and its failure reason); undefined when it was not in `from`. */
async function movePayment(
  trx: Trx,
  orderId: string,
  from: PaymentStatus[],
  to: PaymentStatus,
  failureReason: string | null = null,
): Promise<OrderRow | undefined> {
  const { rows } = await sql<OrderRow>`
    update orders set payment_status = ${to}, payment_failure_reason = ${failureReason},
      version = version + 1, updated_at = now()
    where id = ${orderId} and payment_status = any(${from}::text[])
    returning *`.execute(trx);
  return rows[0];
}

/** `payment.authorized`: a pending order becomes paid (`order.updated`); a cancelled one stays cancelled. */
export async function paymentAuthorized(trx: Trx, orderId: string): Promise<void> {
  const order = await movePayment(trx, orderId, ['pending'], 'authorized');
  if (!order || order.status !== 'pending') return;
  const { rows } = await sql<OrderRow>`
    update orders set status = 'paid', version = version + 1, updated_at = now()
    where id = ${orderId} and status = 'pending' returning *`.execute(trx);
  if (rows[0]) await appendEvent(trx, orderUpdated(rows[0], 'pending'));
}

export async function paymentCaptured(trx: Trx, orderId: string): Promise<void> {
  await movePayment(trx, orderId, ['authorized'], 'captured');
}

export async function paymentVoided(trx: Trx, orderId: string): Promise<void> {
  await movePayment(trx, orderId, ['pending', 'authorized'], 'voided');
}

/** From authorized too: a refund that overtook its capture's event still ends refunded. */
export async function paymentRefunded(trx: Trx, orderId: string): Promise<void> {
  await movePayment(trx, orderId, ['authorized', 'captured'], 'refunded');
}

/** `payment.failed`: the payment is marked failed and a still pending order is cancelled, its stock returned. */
export async function paymentFailed(trx: Trx, orderId: string, reason: string): Promise<string[]> {
  const order = await movePayment(trx, orderId, ['pending'], 'failed', reason);
  if (!order) return [];
  return cancelPending(trx, [orderId], 'payment_failed');
}

/**
 * Cancels orders still pending (stock returned, `order.cancelled` each); returns the products whose
 * stock changed. Orders that moved on meanwhile are left as they are.
 */
async function cancelPending(trx: Trx, orderIds: string[], reason: CancelReason): Promise<string[]> {
  const { rows } = await sql<ChangedOrder>`
    update orders o set status = 'cancelled', cancel_reason = ${reason}, version = o.version + 1, updated_at = now()
    from (
      select id, status from orders where id = any(${orderIds}::uuid[]) and status = 'pending'
      order by id for update
    ) previous
    where o.id = previous.id
    returning o.*, previous.status as previous_status`.execute(trx);
  if (rows.length === 0) return [];
  const returned = await restock(
    trx,
    rows.map((row) => row.id),
  );
  await appendEvents(
    trx,
    rows.map(({ previous_status: previousStatus, ...order }) =>
      orderCancelled(
        order,
        previousStatus,
        reason,
        returned.filter((line) => line.orderId === order.id),
      ),
    ),
  );
  return [...new Set(returned.map((line) => line.productId))];
}

/**
 * Cancels (reason `payment_timeout`) orders that waited longer than `timeoutSeconds` for their
 * payment, a batch at a time; rows another instance is expiring are skipped. Returns how many
 * expired and the products whose stock came back.
 */
export async function expireUnpaidOrders(
  db: Kysely<OrdersDatabase>,
  timeoutSeconds: number,
  batch = 100,
): Promise<{ expired: number; products: string[] }> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ id: string }>`
      select id from orders
      where status = 'pending' and payment_status = 'pending'
        and created_at < now() - make_interval(secs => ${timeoutSeconds})
      order by created_at limit ${batch}
      for update skip locked`.execute(trx);
    if (rows.length === 0) return { expired: 0, products: [] };
    const ids = rows.map((row) => row.id);
    const products = await cancelPending(trx, ids, 'payment_timeout');
    return { expired: ids.length, products };
  });
}
