export * from './cursor.ts';
export * from './json-body.ts';
export * from './keyset.ts';
export * from './list.ts';
export * from './list-query.ts';
export * from './operation.ts';
export * from './optimistic-lock.ts';
export * from './timestamps.ts';
