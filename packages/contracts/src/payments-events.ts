import { type Static, Type } from '@sinclair/typebox';
import { PublicId, Timestamp } from './common.ts';
import { MoneyV2 } from './money.ts';

/** Ids of payments: `pay_…`. */
export const PaymentId = PublicId('pay');

/** The test payment methods of the provider simulator, named as Stripe names its own. */
export const testPaymentMethods = [
  'pm_card_visa',
  'pm_card_chargeDeclined',
  'pm_card_chargeDeclinedInsufficientFunds',
  'pm_card_authenticationRequired',
  'pm_card_providerTimeout',
] as const;

export const PaymentMethod = Type.String({
  minLength: 3,
  maxLength: 100,
  pattern: '^pm_[A-Za-z0-9_]+$',
  description:
    'A payment method of the provider (`pm_…`). The simulator knows `pm_card_visa` (succeeds), ' +
    '`pm_card_chargeDeclined`, `pm_card_chargeDeclinedInsufficientFunds` (declined), ' +
    '`pm_card_authenticationRequired` (succeeds after an asynchronous confirmation) and ' +
    '`pm_card_providerTimeout` (the provider does not answer)',
  examples: ['pm_card_visa'],
});

/** Why a payment failed: the provider's decline code, or that it never answered. */
export const PaymentFailureReason = Type.Union(
  ['card_declined', 'insufficient_funds', 'authentication_failed', 'provider_unavailable'].map((reason) =>
    Type.Literal(reason),
  ),
);
export type PaymentFailureReason = Static<typeof PaymentFailureReason>;

const strict = { additionalProperties: false } as const;
const OrderId = PublicId('ord');
const UserId = PublicId('usr');

const paymentFacts = {
  paymentId: PaymentId,
  orderId: OrderId,
  userId: UserId,
  amount: MoneyV2,
};

/** `payment.authorized`: the provider holds the amount; the order may be marked paid. */
export const PaymentAuthorizedData = Type.Object(
  { ...paymentFacts, authorizedAt: Timestamp },
  { ...strict, title: 'PaymentAuthorizedData' },
);
/** `payment.captured`: the held amount was taken. */
export const PaymentCapturedData = Type.Object(
  { ...paymentFacts, capturedAt: Timestamp },
  { ...strict, title: 'PaymentCapturedData' },
);
/** `payment.failed`: the provider declined (or never confirmed); the order is cancelled. */
export const PaymentFailedData = Type.Object(
  { ...paymentFacts, reason: PaymentFailureReason, failedAt: Timestamp },
  { ...strict, title: 'PaymentFailedData' },
);
/** `payment.voided`: an authorization released without capture (the order was cancelled or expired). */
export const PaymentVoidedData = Type.Object(
  { ...paymentFacts, voidedAt: Timestamp },
  { ...strict, title: 'PaymentVoidedData' },
);
/** `payment.refunded`: a captured amount was given back (the paid order was cancelled). */
export const PaymentRefundedData = Type.Object(
  { ...paymentFacts, refunded: MoneyV2, refundedAt: Timestamp },
  { ...strict, title: 'PaymentRefundedData' },
);
