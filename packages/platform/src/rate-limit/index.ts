export * from './leased.ts';
export * from './memory.ts';
export * from './redis.ts';
export * from './token-bucket.ts';
