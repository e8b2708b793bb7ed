import type { EventData } from '@armature/contracts';
import { type EventInput, isoTimestamp, toPublicId } from '@armature/platform';
import type { OrderPlan } from '../../domain/checkout.ts';

/** `order.created`: a checkout placed an order (pending), with the unit prices it captured. */
export function orderCreated(
  order: { id: string; userId: string; paymentMethod: string | null; createdAt: Date },
  plan: OrderPlan,
): EventInput<'order.created', EventData<'order.created'>> {
  const orderId = toPublicId('order', order.id);
  return {
    type: 'order.created',
    aggregateId: orderId,
    data: {
      orderId,
      userId: toPublicId('user', order.userId),
      status: 'pending',
      total: { amount: plan.totalAmount, currency: plan.currency },
      itemCount: plan.itemCount,
      items: plan.lines.map((line) => ({
        productId: toPublicId('product', line.productId),
        name: line.name,
        quantity: line.quantity,
        unitPrice: { amount: line.unitAmount, currency: plan.currency },
      })),
      ...(order.paymentMethod ? { paymentMethod: order.paymentMethod } : {}),
      version: 1,
      createdAt: isoTimestamp(order.createdAt),
    },
  };
}
