import type { EventData } from '@armature/contracts';
import { type EventInput, isoTimestamp, toPublicId } from '@armature/platform';
import type { OrderRow, OrderStatus } from '../../db/schema.ts';

/** `order.updated`: the order moved along its lifecycle (paid, shipped, delivered). */
export function orderUpdated(
  order: OrderRow,
  previousStatus: OrderStatus,
): EventInput<'order.updated', EventData<'order.updated'>> {
  const orderId = toPublicId('order', order.id);
  return {
    type: 'order.updated',
    aggregateId: orderId,
    data: {
      orderId,
      userId: toPublicId('user', order.user_id),
      status: order.status,
      previousStatus,
      total: { amount: order.total_amount, currency: order.currency },
      version: order.version,
      updatedAt: isoTimestamp(order.updated_at),
    },
  };
}
