import type { EventData } from '@armature/contracts';
import { type EventInput, isoTimestamp, toPublicId } from '@armature/platform';
import type { OrderRow, OrderStatus } from '../../db/schema.ts';

export type CancelReason = EventData<'order.cancelled'>['reason'];

/** `order.cancelled`: by its owner or an admin (`requested`), or because the user was deleted. */
export function orderCancelled(
  order: OrderRow,
  previousStatus: OrderStatus,
  reason: CancelReason,
  restocked: Array<{ productId: string; quantity: number }>,
): EventInput<'order.cancelled', EventData<'order.cancelled'>> {
  const orderId = toPublicId('order', order.id);
  return {
    type: 'order.cancelled',
    aggregateId: orderId,
    data: {
      orderId,
      userId: toPublicId('user', order.user_id),
      previousStatus,
      reason,
      total: { amount: order.total_amount, currency: order.currency },
      restocked: restocked.map((line) => ({
        productId: toPublicId('product', line.productId),
        quantity: line.quantity,
      })),
      version: order.version,
      cancelledAt: isoTimestamp(order.updated_at),
    },
  };
}
