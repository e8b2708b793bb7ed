import type { IdempotencyKeysTable, InboxTable, OutboxTable } from '@armature/platform';
import type { ColumnType, Generated, Selectable } from 'kysely';

/** Kysely types of the payments database, kept in step with `migrations/`. */
export interface PaymentsDatabase {
  payments: PaymentsTable;
  payment_attempts: PaymentAttemptsTable;
  refunds: RefundsTable;
  order_cancellations: { order_id: string; created_at: Timestamp };
  webhook_events: { id: string; received_at: Timestamp };
  idempotency_keys: IdempotencyKeysTable;
  /** Domain events (migration 0010, from the platform). */
  outbox: OutboxTable;
  inbox: InboxTable;
}

/** A timestamp column: read as a Date, written as a Date or an SQL expression. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export type PaymentStatus =
  | 'pending'
  | 'requires_action'
  | 'authorized'
  | 'captured'
  | 'failed'
  | 'voided'
  | 'refunded';

export interface PaymentsTable {
  id: string;
  order_id: string;
  user_id: string;
  amount: number;
  currency: string;
  method: string;
  status: Generated<PaymentStatus>;
  provider_payment_id: string | null;
  failure_reason: string | null;
  refunded_amount: Generated<number>;
  order_paid: Generated<boolean>;
  order_cancelled: Generated<boolean>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  version: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface PaymentAttemptsTable {
  id: string;
  payment_id: string;
  operation: string;
  idempotency_key: string;
  outcome: string;
  created_at: Timestamp;
}

export interface RefundsTable {
  id: string;
  payment_id: string;
  amount: number;
  provider_refund_id: string;
  created_at: Timestamp;
}

export type PaymentRow = Selectable<PaymentsTable>;
