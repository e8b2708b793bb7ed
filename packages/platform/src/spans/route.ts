import type { FastifyInstance } from 'fastify';
import { traceDestination } from '../tracing.ts';
import { spanStore } from './store.ts';

/**
 * `GET /spans?traceId=…` on a service: the spans of one trace this process kept, for the gateway
 * to gather into the console's trace view (scale-out: each instance has its own store). Not part of
 * the public API (the gateway does not forward it). A trace id is 128 random bits, so only a caller
 * that already knows the trace can read its spans; there is no listing here.
 */
export function registerSpanRoute(app: FastifyInstance): void {
  if (traceDestination() !== 'store') return;
  app.get<{ Querystring: { traceId: string } }>(
    '/spans',
    {
      config: { public: true, access: 'public' },
      logLevel: 'warn',
      schema: {
        querystring: {
          type: 'object',
          properties: { traceId: { type: 'string', pattern: '^[0-9a-f]{32}$' } },
          required: ['traceId'],
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return { spans: spanStore().trace(request.query.traceId) };
    },
  );
}
