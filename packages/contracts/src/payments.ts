import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { IdParams, ListOf, ListQuery, PublicId, Timestamp } from './common.ts';
import { MoneyV1, MoneyV2 } from './money.ts';
import { defineOperations } from './operation.ts';
import { PaymentFailureReason, PaymentId, PaymentMethod } from './payments-events.ts';

export const paymentStatuses = [
  'pending',
  'requires_action',
  'authorized',
  'captured',
  'failed',
  'voided',
  'refunded',
] as const;

export const PaymentStatus = Type.Union(
  paymentStatuses.map((status) => Type.Literal(status)),
  {
    description:
      'pending → authorized → captured (→ refunded); pending → requires_action → authorized; ' +
      'pending or requires_action → failed; authorized (or an expired order’s late authorization) → voided',
  },
);

const paymentProperties = (money: TSchema) => ({
  id: PaymentId,
  orderId: PublicId('ord'),
  userId: PublicId('usr'),
  amount: money,
  method: PaymentMethod,
  status: PaymentStatus,
  failureReason: Type.Union([PaymentFailureReason, Type.Null()]),
  refunded: money,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const payment = (money: TSchema, name: string) =>
  Type.Object(paymentProperties(money), { additionalProperties: false, $id: name, title: name });

export const PaymentV1 = payment(MoneyV1, 'PaymentV1');
export const PaymentV2 = payment(MoneyV2, 'PaymentV2');

export const paymentSortKeys = ['createdAt'] as const;
export const paymentFields = [
  'id',
  'orderId',
  'userId',
  'amount',
  'method',
  'status',
  'failureReason',
  'refunded',
  'createdAt',
  'updatedAt',
] as const;

export const PaymentListQuery = ListQuery({
  orderId: Type.Optional(
    Type.String({ maxLength: 64, description: 'Only the payments of this order (`ord_…`)' }),
  ),
});
export type PaymentListQuery = Static<typeof PaymentListQuery>;

/** A provider's event, as its signed webhook delivers it (the simulator's follow Stripe's shape). */
export const ProviderWebhookEvent = Type.Object(
  {
    id: Type.String({
      pattern: '^evt_[A-Za-z0-9_]+$',
      maxLength: 100,
      description: 'The provider’s event id: a replay of it is refused',
    }),
    type: Type.String({
      pattern: '^[a-z_]+(\\.[a-z_]+)+$',
      maxLength: 100,
      examples: ['payment_intent.amount_capturable_updated'],
    }),
    created: Type.Integer({ minimum: 0, maximum: 99_999_999_999, description: 'Unix seconds' }),
    data: Type.Object(
      {
        object: Type.Object(
          {
            id: Type.String({
              pattern: '^pi_[A-Za-z0-9]+$',
              maxLength: 100,
              description: 'The provider’s payment id',
            }),
            status: Type.String({ pattern: '^[a-z_]+$', maxLength: 50 }),
            lastError: Type.Optional(
              Type.Union([Type.String({ pattern: '^[a-z_]+$', maxLength: 100 }), Type.Null()]),
            ),
          },
          { additionalProperties: false },
        ),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, $id: 'ProviderWebhookEvent', title: 'ProviderWebhookEvent' },
);

const versioned = { v1: PaymentV1, v2: PaymentV2 };
const tags = ['Payments'];

export const paymentsOperations = defineOperations({
  listPayments: {
    operationId: 'listPayments',
    service: 'payments',
    method: 'GET',
    path: '/payments',
    summary:
      'Payments: the caller’s own (an admin sees everyone’s), newest first; `orderId` narrows to one order',
    tags,
    access: 'authenticated',
    query: PaymentListQuery,
    responses: {
      200: { v1: ListOf(Type.Partial(PaymentV1)), v2: ListOf(Type.Partial(PaymentV2)) },
    },
    errors: [400, 401],
    list: true,
  },
  getPayment: {
    operationId: 'getPayment',
    service: 'payments',
    method: 'GET',
    path: '/payments/{id}',
    summary: 'One payment (its payer or an admin)',
    tags,
    access: 'authenticated',
    params: IdParams('pay'),
    responses: { 200: versioned },
    errors: [401, 404],
  },
  receivePaymentWebhook: {
    operationId: 'receivePaymentWebhook',
    service: 'payments',
    method: 'POST',
    path: '/payments/webhooks',
    summary: 'The payment provider’s signed webhook (asynchronous outcomes)',
    description:
      'Signed by the provider: `Armature-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` ' +
      'with the shared `PAYMENTS_WEBHOOK_SECRET`. A bad signature or a timestamp outside the tolerance ' +
      'window is a 400 `INVALID_WEBHOOK_SIGNATURE`; an event id already received is a 409 `WEBHOOK_REPLAYED`; ' +
      'neither changes anything.',
    tags,
    access: 'public',
    headers: Type.Object({
      'armature-signature': Type.Optional(Type.String({ maxLength: 500, description: '`t=…,v1=…`' })),
    }),
    body: ProviderWebhookEvent,
    responses: { 204: null },
    errors: [400, 409, 415],
  },
});
