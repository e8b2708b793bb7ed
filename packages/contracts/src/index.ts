export * from './all-operations.ts';
export * from './carts.ts';
export * from './common.ts';
export * from './health.ts';
export * from './money.ts';
export * from './operation.ts';
export * from './orders.ts';
export * from './products.ts';
