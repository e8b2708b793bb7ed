export * from './config.ts';
export * from './message.ts';
export * from './outbox.ts';
export * from './relay.ts';
export * from './runtime.ts';
export * from './transports.ts';
