export * from './accounts.ts';
export * from './all-operations.ts';
export * from './api-keys.ts';
export * from './auth.ts';
export * from './carts.ts';
export * from './common.ts';
export * from './dead-letters.ts';
export * from './events.ts';
export * from './health.ts';
export * from './money.ts';
export * from './operation.ts';
export * from './orders.ts';
export * from './payments.ts';
export * from './payments-events.ts';
export * from './products.ts';
export * from './services.ts';
export * from './users.ts';
// armature:new-service exports
