export * from './key.ts';
export * from './store.ts';
