// Generated from the contract by `npm run contracts:generate`; do not edit.

/** Operations that accept `Idempotency-Key`: `METHOD /path`, the path as the contract writes it. */
export const idempotentOperations: ReadonlySet<string> = new Set([
  'POST /v1/products',
  'POST /v1/users',
  'POST /v1/users/{id}/orders',
  'POST /v2/products',
  'POST /v2/users',
  'POST /v2/users/{id}/orders',
]);
