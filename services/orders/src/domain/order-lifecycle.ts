import type { OrderStatus } from '../db/schema.ts';

/** The moves the lifecycle allows: pending → paid → shipped → delivered; pending or paid → cancelled. */
const next: Record<OrderStatus, readonly OrderStatus[]> = {
  pending: ['paid', 'cancelled'],
  paid: ['shipped', 'cancelled'],
  shipped: ['delivered'],
  delivered: [],
  cancelled: [],
};

export type TransitionVerdict = 'allowed' | 'invalid' | 'forbidden';

/**
 * Whether `actor` may move an order from `from` to `to`: a move the lifecycle lacks is invalid for
 * everyone; a member may only cancel their own order before it ships (a paid one is refunded),
 * admins make every other move.
 */
export function judgeTransition(
  from: OrderStatus,
  to: OrderStatus,
  actor: { isAdmin: boolean },
): TransitionVerdict {
  if (!next[from].includes(to)) return 'invalid';
  if (actor.isAdmin) return 'allowed';
  return (from === 'pending' || from === 'paid') && to === 'cancelled' ? 'allowed' : 'forbidden';
}

/** Whether moving into `to` gives the order's units back to stock. */
export function returnsStock(to: OrderStatus): boolean {
  return to === 'cancelled';
}
