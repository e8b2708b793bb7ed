import { OrderCancelledData, OrderCreatedData, OrderUpdatedData, type TypedEvent } from '@armature/contracts';
import {
  type ConsumerSpec,
  type EventEnvelope,
  type EventHandler,
  PoisonEventError,
  parsePublicId,
} from '@armature/platform';
import { noteOrder, openPayment } from '../../db/payments.ts';
import type { PaymentsDatabase } from '../../db/schema.ts';

function orderUuid(publicId: string): string {
  const id = parsePublicId('order', publicId);
  if (!id) throw new PoisonEventError(`"${publicId}" is not an order id`);
  return id;
}

/**
 * The payments service's consumer of the orders service's events: a new order with a payment
 * method opens its payment; an order marked paid asks for the capture; a cancelled or expired order
 * asks for a void or a refund. What is asked is recorded here; the worker (woken after the commit)
 * makes the provider calls, so a consumed event never waits on the provider.
 */
export function ordersEventsConsumer(wake: () => void): ConsumerSpec<PaymentsDatabase> {
  const onCreated: EventHandler<PaymentsDatabase> = async (trx, event) => {
    const { data } = event as TypedEvent<'order.created'>;
    if (!data.paymentMethod) return;
    const userId = parsePublicId('user', data.userId);
    if (!userId) throw new PoisonEventError(`"${data.userId}" is not a user id`);
    await openPayment(trx, {
      orderId: orderUuid(data.orderId),
      userId,
      amount: data.total.amount,
      currency: data.total.currency,
      method: data.paymentMethod,
    });
  };
  const onUpdated: EventHandler<PaymentsDatabase> = async (trx, event) => {
    const { data } = event as TypedEvent<'order.updated'>;
    if (data.status === 'paid') await noteOrder(trx, orderUuid(data.orderId), 'paid');
  };
  const onCancelled: EventHandler<PaymentsDatabase> = async (trx, event) => {
    const { data } = event as TypedEvent<'order.cancelled'>;
    await noteOrder(trx, orderUuid(data.orderId), 'cancelled');
  };
  return {
    name: 'payments',
    handlers: { 'order.created': onCreated, 'order.updated': onUpdated, 'order.cancelled': onCancelled },
    schemas: {
      'order.created': OrderCreatedData,
      'order.updated': OrderUpdatedData,
      'order.cancelled': OrderCancelledData,
    },
    relevant: asksForPaymentStep,
    // Each event handled leaves the worker a provider call to make.
    afterCommit: async (_event, outcome) => {
      if (outcome === 'handled') wake();
    },
  };
}

/**
 * The events that ask for a payment's next step: a new order with a payment method, an order marked
 * paid, any cancellation. Checkouts without a payment method cost this service nothing.
 */
export function asksForPaymentStep(event: Pick<EventEnvelope, 'type' | 'data'>): boolean {
  switch (event.type) {
    case 'order.created':
      return Boolean((event as TypedEvent<'order.created'>).data.paymentMethod);
    case 'order.updated':
      return (event as TypedEvent<'order.updated'>).data.status === 'paid';
    default:
      return true;
  }
}
