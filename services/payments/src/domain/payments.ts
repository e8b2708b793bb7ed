/**
 * The rules of a payment, free of HTTP, SQL and the provider: what the worker must do next for a
 * payment in a given state, and what each provider outcome makes of it.
 */
import { publicIds } from '@armature/platform';
import type { PaymentRow, PaymentStatus } from '../db/schema.ts';

/** Public ids of payments: `pay_…`. */
export const paymentIds = publicIds('pay');

export type NextStep = 'authorize' | 'capture' | 'void' | 'refund' | 'none';

/**
 * The provider call a payment waits for. A cancelled order's authorization is voided and its capture
 * refunded; an authorization of an order that was paid before it was cancelled is captured first
 * (it may already have been) and then refunded, never voided.
 * A pending payment is always (re)authorized first, even for a cancelled order: an earlier call
 * may have authorized without our hearing of it, and only its replay (same key) tells.
 */
export function nextStep(payment: Pick<PaymentRow, 'status' | 'order_paid' | 'order_cancelled'>): NextStep {
  switch (payment.status) {
    case 'pending':
      return 'authorize';
    case 'requires_action':
      return payment.order_cancelled ? 'void' : 'none';
    case 'authorized':
      // Once the order was paid, its capture may already have reached the provider (a crash or a
      // lost commit after its answer): a void would then be refused for ever. So a paid order is
      // captured first, under the same idempotency key (at most once), and refunded if cancelled.
      if (payment.order_paid) return 'capture';
      return payment.order_cancelled ? 'void' : 'none';
    case 'captured':
      return payment.order_cancelled ? 'refund' : 'none';
    default:
      return 'none';
  }
}

/** The moves the lifecycle allows; anything else (a late or duplicated outcome) changes nothing. */
const allowed: Record<PaymentStatus, readonly PaymentStatus[]> = {
  pending: ['requires_action', 'authorized', 'failed', 'voided'],
  requires_action: ['authorized', 'failed', 'voided'],
  authorized: ['captured', 'voided'],
  captured: ['refunded'],
  failed: [],
  voided: [],
  refunded: [],
};

export function canMove(from: PaymentStatus, to: PaymentStatus): boolean {
  return allowed[from].includes(to);
}

/** The idempotency key of one provider call for one payment: the same on every retry. */
export function providerKey(paymentId: string, step: Exclude<NextStep, 'none'>): string {
  return `${step}:${paymentId}`;
}

/** The next wait after `attempts` failed tries: 0.5 s doubling, at most 30 s. */
export function retryDelayMs(attempts: number): number {
  return Math.min(30_000, 500 * 2 ** Math.min(attempts, 6));
}
