import {
  appendEvent,
  fetchPage,
  newUuid,
  orderColumns,
  type Page,
  type PageParams,
} from '@armature/platform';
import { type Kysely, sql, type Transaction } from 'kysely';
import { canMove } from '../domain/payments.ts';
import { paymentEvent } from '../events/published/payment-events.ts';
import type { PaymentRow, PaymentStatus, PaymentsDatabase } from './schema.ts';

type Db = Kysely<PaymentsDatabase>;
type Trx = Transaction<PaymentsDatabase>;

export function findPayment(db: Db, id: string): Promise<PaymentRow | undefined> {
  return db.selectFrom('payments').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A page of payments, newest first: one user's, or everyone's; optionally one order's. */
export function listPayments(
  db: Db,
  filters: { userId?: string; orderId?: string },
  page: PageParams<'createdAt'>,
): Promise<Page<PaymentRow>> {
  let filtered = db.selectFrom('payments');
  if (filters.userId !== undefined) filtered = filtered.where('user_id', '=', filters.userId);
  if (filters.orderId !== undefined) filtered = filtered.where('order_id', '=', filters.orderId);
  const order = orderColumns(page.sort, { createdAt: 'payments.created_at' }, 'payments.id');
  return fetchPage(filtered, (query) => query.selectAll(), order, page);
}

/**
 * The payment of a new order (`order.created` with a method). Once per order, however often the
 * event comes. An order already known as cancelled (its events arrived out of order) gets a payment
 * born voided: nothing is ever asked of the provider for it.
 */
export async function openPayment(
  trx: Trx,
  order: { orderId: string; userId: string; amount: number; currency: string; method: string },
): Promise<void> {
  await lockOrder(trx, order.orderId);
  const cancelled = await trx
    .selectFrom('order_cancellations')
    .select('order_id')
    .where('order_id', '=', order.orderId)
    .executeTakeFirst();
  const row = await trx
    .insertInto('payments')
    .values({
      id: newUuid(),
      order_id: order.orderId,
      user_id: order.userId,
      amount: order.amount,
      currency: order.currency,
      method: order.method,
      status: cancelled ? 'voided' : 'pending',
      order_cancelled: Boolean(cancelled),
    })
    .onConflict((conflict) => conflict.column('order_id').doNothing())
    .returningAll()
    .executeTakeFirst();
  const event = row && cancelled ? paymentEvent(row) : undefined;
  if (event) await appendEvent(trx, event);
}

/**
 * Serialises the handling of one order's events until the transaction ends. Without it, an
 * `order.cancelled` handled by one instance while another was opening the payment (neither seeing
 * the other's uncommitted row) was lost: the payment went on to be authorized for a cancelled order.
 */
async function lockOrder(trx: Trx, orderId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${orderId}, 0))`.execute(trx);
}

/** What the order asks of its payment now: to be captured (paid) or released (cancelled). */
export async function noteOrder(trx: Trx, orderId: string, change: 'paid' | 'cancelled'): Promise<void> {
  await lockOrder(trx, orderId);
  const updated = await trx
    .updateTable('payments')
    .set(change === 'paid' ? { order_paid: true } : { order_cancelled: true })
    .set({ next_attempt_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
    .where('order_id', '=', orderId)
    .executeTakeFirst();
  if (updated.numUpdatedRows === 0n && change === 'cancelled') {
    await trx
      .insertInto('order_cancellations')
      .values({ order_id: orderId })
      .onConflict((conflict) => conflict.column('order_id').doNothing())
      .execute();
  }
}

/**
 * Takes up to `limit` payments the worker has to act on, leasing each for `leaseSeconds` so that
 * another instance leaves it alone meanwhile (a crashed worker's lease runs out and it is retried).
 */
export async function claimDuePayments(db: Db, limit: number, leaseSeconds = 30): Promise<PaymentRow[]> {
  const { rows } = await sql<PaymentRow>`
    update payments set next_attempt_at = now() + make_interval(secs => ${leaseSeconds}), attempts = attempts + 1
    where id in (
      select id from payments
      where (status = 'pending'
          or (status in ('requires_action', 'authorized', 'captured') and order_cancelled)
          or (status = 'authorized' and order_paid))
        and next_attempt_at <= now()
      order by next_attempt_at
      limit ${limit}
      for update skip locked
    )
    returning *`.execute(db);
  return rows;
}

/** A provider call and its outcome, for the record (and for proving no call charged twice). */
export async function recordAttempt(
  db: Db | Trx,
  paymentId: string,
  attempt: { operation: string; idempotencyKey: string; outcome: string },
): Promise<void> {
  await db
    .insertInto('payment_attempts')
    .values({
      id: newUuid(),
      payment_id: paymentId,
      operation: attempt.operation,
      idempotency_key: attempt.idempotencyKey,
      outcome: attempt.outcome,
    })
    .execute();
}

/** The payment is due again after `delayMs` (the provider did not answer). */
export async function retryLater(db: Db, paymentId: string, delayMs: number): Promise<void> {
  await db
    .updateTable('payments')
    .set({ next_attempt_at: sql<Date>`now() + make_interval(secs => ${delayMs / 1000})` })
    .where('id', '=', paymentId)
    .execute();
}

export interface Move {
  to: PaymentStatus;
  providerPaymentId?: string;
  failureReason?: string;
  refund?: { amount: number; providerRefundId: string };
}

/**
 * Moves a payment to a new state, if its lifecycle allows it from where it is now (read under a
 * row lock), with the event that announces it, in one transaction. Returns the row as it is after,
 * or undefined when the move no longer applied (another outcome got there first).
 */
export function movePayment(db: Db, paymentId: string, move: Move): Promise<PaymentRow | undefined> {
  return db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('payments')
      .selectAll()
      .where('id', '=', paymentId)
      .forUpdate()
      .executeTakeFirst();
    return current && applyMove(trx, current, move);
  });
}

/** `movePayment` inside the caller's transaction, on a row it has locked. */
export async function applyMove(trx: Trx, current: PaymentRow, move: Move): Promise<PaymentRow | undefined> {
  if (!canMove(current.status, move.to)) return undefined;
  const row = await trx
    .updateTable('payments')
    .set({
      status: move.to,
      provider_payment_id: move.providerPaymentId ?? current.provider_payment_id,
      failure_reason: move.failureReason ?? current.failure_reason,
      refunded_amount: current.refunded_amount + (move.refund?.amount ?? 0),
      attempts: 0,
      next_attempt_at: sql<Date>`now()`,
      version: sql<number>`version + 1`,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', current.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  if (move.refund) {
    await trx
      .insertInto('refunds')
      .values({
        id: newUuid(),
        payment_id: current.id,
        amount: move.refund.amount,
        provider_refund_id: move.refund.providerRefundId,
      })
      .execute();
  }
  // An authorization for an order already cancelled is not announced: it is voided next.
  const event = move.to === 'authorized' && current.order_cancelled ? undefined : paymentEvent(row);
  if (event) await appendEvent(trx, event);
  return row;
}

/** The payment the provider knows by this id, locked for the webhook's transaction. */
export function paymentByProviderId(trx: Trx, providerPaymentId: string): Promise<PaymentRow | undefined> {
  return trx
    .selectFrom('payments')
    .selectAll()
    .where('provider_payment_id', '=', providerPaymentId)
    .forUpdate()
    .executeTakeFirst();
}

/** Records a webhook event id; false when it was received before (a replay). */
export async function firstDelivery(trx: Trx, eventId: string): Promise<boolean> {
  const inserted = await trx
    .insertInto('webhook_events')
    .values({ id: eventId })
    .onConflict((conflict) => conflict.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}
