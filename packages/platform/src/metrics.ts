import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { ApiError } from './errors.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** This server's Prometheus registry; plugins register their counters here. */
    metrics: Registry;
  }
}

/**
 * `/metrics` in Prometheus text: process and event-loop metrics, and a latency histogram of every
 * request by route template and status. One registry per server, so several servers in one
 * process (embedded mode, tests) keep their figures apart. With `token` set, scrapes must send it
 * as a bearer token.
 */
export function registerMetrics(app: FastifyInstance, service: string, token?: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer a request, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.decorate('metrics', registry);
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    duration.observe({ method: request.method, route, status: reply.statusCode }, reply.elapsedTime / 1000);
    done();
  });
  app.get(
    '/metrics',
    { config: { public: true, access: 'public' }, logLevel: 'warn' },
    async (request, reply) => {
      if (token && request.headers.authorization !== `Bearer ${token}`) {
        throw new ApiError('UNAUTHORIZED', { headers: { 'www-authenticate': 'Bearer' } });
      }
      reply.header('content-type', registry.contentType).header('cache-control', 'no-store');
      return registry.metrics();
    },
  );
  return registry;
}
