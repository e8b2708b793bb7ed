import type { EventData } from '@armature/contracts';
import { type EventInput, isoTimestamp, toPublicId } from '@armature/platform';
import type { PaymentRow } from '../../db/schema.ts';
import { paymentIds } from '../../domain/payments.ts';

type PaymentEventType =
  | 'payment.authorized'
  | 'payment.captured'
  | 'payment.failed'
  | 'payment.voided'
  | 'payment.refunded';

function facts(row: PaymentRow) {
  const paymentId = paymentIds.toPublic(row.id);
  return {
    paymentId,
    orderId: toPublicId('order', row.order_id),
    userId: toPublicId('user', row.user_id),
    amount: { amount: row.amount, currency: row.currency },
  };
}

const at = (row: PaymentRow) => isoTimestamp(row.updated_at);

/** The event a payment's new state is announced with, written in the transaction that moved it. */
export function paymentEvent(
  row: PaymentRow,
): EventInput<PaymentEventType, EventData<PaymentEventType>> | undefined {
  const base = facts(row);
  const event = <T extends PaymentEventType>(type: T, data: EventData<T>) => ({
    type,
    aggregateId: base.paymentId,
    data,
  });
  switch (row.status) {
    case 'authorized':
      return event('payment.authorized', { ...base, authorizedAt: at(row) });
    case 'captured':
      return event('payment.captured', { ...base, capturedAt: at(row) });
    case 'failed':
      return event('payment.failed', {
        ...base,
        reason: (row.failure_reason ?? 'card_declined') as EventData<'payment.failed'>['reason'],
        failedAt: at(row),
      });
    case 'voided':
      return event('payment.voided', { ...base, voidedAt: at(row) });
    case 'refunded':
      return event('payment.refunded', {
        ...base,
        refunded: { amount: row.refunded_amount, currency: row.currency },
        refundedAt: at(row),
      });
    default:
      return undefined;
  }
}
