export * from './circuit-breaker.ts';
