import {
  PaymentAuthorizedData,
  PaymentCapturedData,
  PaymentFailedData,
  PaymentRefundedData,
  PaymentVoidedData,
  type TypedEvent,
} from '@armature/contracts';
import {
  type ConsumerSpec,
  type EventHandler,
  type EventLog,
  PoisonEventError,
  parsePublicId,
} from '@armature/platform';
import type { Cache } from '@armature/platform/cache/index';
import {
  paymentAuthorized,
  paymentCaptured,
  paymentFailed,
  paymentRefunded,
  paymentVoided,
} from '../../db/payment-outcomes.ts';
import type { OrdersDatabase } from '../../db/schema.ts';

type PaymentEvent = TypedEvent<
  'payment.authorized' | 'payment.captured' | 'payment.failed' | 'payment.voided' | 'payment.refunded'
>;

function ids(event: PaymentEvent): { orderId: string; userId: string } {
  const orderId = parsePublicId('order', event.data.orderId);
  const userId = parsePublicId('user', event.data.userId);
  if (!orderId || !userId) throw new PoisonEventError(`${event.type} names no order or user`);
  return { orderId, userId };
}

/**
 * The orders service's consumer of the payments service's events: the order follows its payment
 * (`payment.authorized` → paid; `payment.failed` → cancelled, stock returned; captured, voided,
 * refunded → the payment's state on the order). Each step applies only from the state before it,
 * so duplicates and late arrivals change nothing twice. The customer's cached order lists (and
 * restocked products) are dropped once the step has committed.
 */
export function paymentsEventsConsumer(cache: Cache, log: EventLog): ConsumerSpec<OrdersDatabase> {
  const stale = new Map<string, string[]>();
  const step =
    (
      apply: (
        trx: Parameters<EventHandler<OrdersDatabase>>[0],
        event: PaymentEvent,
        orderId: string,
      ) => Promise<string[] | void>,
    ): EventHandler<OrdersDatabase> =>
    async (trx, event) => {
      const payment = event as PaymentEvent;
      const { orderId, userId } = ids(payment);
      const products = (await apply(trx, payment, orderId)) ?? [];
      stale.set(event.id, [`user:${userId}:orders`, ...products.map((id) => `product:${id}`)]);
    };
  return {
    name: 'orders-payments',
    handlers: {
      'payment.authorized': step((trx, _event, orderId) => paymentAuthorized(trx, orderId)),
      'payment.captured': step((trx, _event, orderId) => paymentCaptured(trx, orderId)),
      'payment.failed': step((trx, event, orderId) =>
        paymentFailed(trx, orderId, (event as TypedEvent<'payment.failed'>).data.reason),
      ),
      'payment.voided': step((trx, _event, orderId) => paymentVoided(trx, orderId)),
      'payment.refunded': step((trx, _event, orderId) => paymentRefunded(trx, orderId)),
    },
    schemas: {
      'payment.authorized': PaymentAuthorizedData,
      'payment.captured': PaymentCapturedData,
      'payment.failed': PaymentFailedData,
      'payment.voided': PaymentVoidedData,
      'payment.refunded': PaymentRefundedData,
    },
    afterCommit: async (event) => {
      const names = stale.get(event.id);
      stale.delete(event.id);
      if (!names) return;
      await cache
        .invalidate(names)
        .catch((error) => log.warn({ err: error, names }, 'cache invalidation failed'));
    },
  };
}
