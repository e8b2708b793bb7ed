/** The few logger methods the event machinery uses; a pino (Fastify) logger fits. */
export interface EventLog {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

const ignore = () => {};
export const silentLog: EventLog = { debug: ignore, info: ignore, warn: ignore, error: ignore };
