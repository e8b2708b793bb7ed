/**
 * The event types `GET /v1/events` can filter on. A copy of the contract's list (bundling the
 * contract would bring its schema library into the page), pinned to it by event-types.test.ts.
 */
export const eventTypes = [
  'user.created',
  'user.updated',
  'user.deleted',
  'order.created',
  'order.updated',
  'order.cancelled',
  'payment.authorized',
  'payment.captured',
  'payment.failed',
  'payment.voided',
  'payment.refunded',
];
