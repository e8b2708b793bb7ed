export * from './config.ts';
export * from './consumer.ts';
export * from './dead-letter-admin.ts';
export * from './dead-letters.ts';
export * from './envelope.ts';
export * from './event-log.ts';
export * from './in-process-bus.ts';
export * from './log.ts';
export * from './metrics.ts';
export * from './outbox.ts';
export * from './relay.ts';
export * from './runtime.ts';
export * from './trace-context.ts';
export * from './transport.ts';

/** The migration every publishing or consuming service copies as `db/migrations/0010_events.sql`. */
export const eventsMigrationFile = new URL('./sql/0010_events.sql', import.meta.url);
