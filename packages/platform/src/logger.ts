import type { FastifyServerOptions } from 'fastify';

/** pino options shared by every service: JSON lines, the service name on each, secrets redacted. */
export function loggerOptions(
  service: string,
  level: string,
  stream?: NodeJS.WritableStream,
): FastifyServerOptions['logger'] {
  return {
    ...(stream ? { stream } : {}),
    level,
    base: { service },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        'req.headers["x-api-key"]',
        'headers["x-api-key"]',
        '*.password',
        '*.refreshToken',
        '*.accessToken',
      ],
      censor: '[redacted]',
    },
  };
}
