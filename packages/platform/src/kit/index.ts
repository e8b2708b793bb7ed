export * from './config.ts';
export * from './run.ts';
export * from './start-service.ts';
