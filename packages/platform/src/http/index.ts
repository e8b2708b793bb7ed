export * from './cursor.ts';
export * from './keyset.ts';
export * from './list-query.ts';
export * from './timestamps.ts';
export * from './json-body.ts';
